"""Builds the control plane's binaries once per machine, into a cache outside the
repository keyed by the pinned versions (tools/*/go.mod: the control plane, Helm, CoreDNS
and Consul).

A fresh machine pays the build once (about 22 minutes on 2 cores, Consul 7 of them;
`go` >= the modules' `go` line must be on PATH, and the Go module proxy reachable);
later runs find the binaries. Set CLOUDGEO_CONTROLPLANE_CACHE to move the cache.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
TOOLS = ROOT / "tools"
# Module path of each tool -> the binary's name in the cache.
BINARIES = {
    "controlplane": {"k8s.io/kubernetes/cmd/kube-apiserver": "kube-apiserver",
                     "k8s.io/kubernetes/cmd/kube-controller-manager": "kube-controller-manager",
                     "k8s.io/kubernetes/cmd/kube-scheduler": "kube-scheduler",
                     "k8s.io/kubernetes/cmd/kubectl": "kubectl",
                     "k8s.io/kubernetes/cmd/kubelet": "kubelet",
                     "k8s.io/kubernetes/cmd/kube-proxy": "kube-proxy",
                     "go.etcd.io/etcd/server/v3": "etcd"},
    "helm": {"helm.sh/helm/v4/cmd/helm": "helm"},
    "coredns": {"github.com/coredns/coredns": "coredns"},
    "consul": {"github.com/hashicorp/consul": "consul"},
}


class BuildFailed(RuntimeError):
    """The binaries could not be built; the message says why."""


@dataclass(frozen=True)
class Binaries:
    folder: Path

    def __getattr__(self, name: str) -> str:
        return str(self.folder / name.replace("_", "-"))


def pinned_version(module: str, go_mod: Path) -> str:
    """The version go.mod requires of `module`."""
    match = re.search(rf"^\s*(?:require\s+)?{re.escape(module)} (v\S+)", go_mod.read_text(),
                      re.MULTILINE)
    if not match:
        raise BuildFailed(f"{go_mod} does not require {module}")
    return match.group(1)


# Raised when the build's flags change, so the cache is built again.
BUILD_REVISION = 2


def version_flags(module: str) -> str:
    """-ldflags: Kubernetes' binaries report their release (Helm checks a chart's
    kubeVersion against it), as its own build (hack/lib/version.sh) sets it."""
    if module != "controlplane":
        return "-s -w"
    release = pinned_version("k8s.io/kubernetes", TOOLS / "controlplane/go.mod")
    major, minor = release.lstrip("v").split(".")[:2]
    fields = {"gitVersion": release, "gitMajor": major, "gitMinor": minor,
              "gitTreeState": "clean", "buildDate": "1970-01-01T00:00:00Z"}
    return " ".join(["-s", "-w"] + [f"-X {package}.{name}={value}"
                                    for package in ("k8s.io/component-base/version",
                                                    "k8s.io/client-go/pkg/version")
                                    for name, value in fields.items()])


def cache_key() -> str:
    plane, helm = TOOLS / "controlplane/go.mod", TOOLS / "helm/go.mod"
    return (f"b{BUILD_REVISION}_kubernetes-{pinned_version('k8s.io/kubernetes', plane)}"
            f"_etcd-{pinned_version('go.etcd.io/etcd/server/v3', plane)}"
            f"_helm-{pinned_version('helm.sh/helm/v4', helm)}"
            f"_coredns-{pinned_version('github.com/coredns/coredns', TOOLS / 'coredns/go.mod')}"
            f"_consul-{pinned_version('github.com/hashicorp/consul', TOOLS / 'consul/go.mod')}")


def cache_root() -> Path:
    default = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return Path(os.environ.get("CLOUDGEO_CONTROLPLANE_CACHE",
                               default / "cloudgeo-controlplane"))


def binaries_of(*modules: str) -> list[str]:
    """The binaries the given tools/ modules build."""
    return [name for module in modules for name in BINARIES[module].values()]


# What a control plane and a real node run; Consul, built last, only its own test needs.
CLUSTER_BINARIES = binaries_of("controlplane", "helm", "coredns")


def missing_binaries(names: Iterable[str] | None = None) -> list[str]:
    """The cached binaries (of `names`, else all) not built yet."""
    folder = cache_root() / cache_key()
    wanted = binaries_of(*BINARIES) if names is None else list(names)
    return [name for name in wanted if not (folder / name).is_file()]


def ensure_built(names: Iterable[str] | None = None) -> Binaries:
    """The cached binaries, once those of `names` (else all) are there: built here if
    missing (only the modules that build them), or waited for while another process
    builds (the suite's background build, which goes on with the rest)."""
    wanted = binaries_of(*BINARIES) if names is None else list(names)
    folder = cache_root() / cache_key()
    if not missing_binaries(wanted):
        return Binaries(folder)
    if shutil.which("go") is None:
        raise BuildFailed("'go' is not on PATH: the control plane is built from Go modules "
                          "(tools/controlplane); install Go >= 1.26")
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder.parent / ".build.lock", "w") as lock:
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:  # another build runs: what we need may come first
                if not missing_binaries(wanted):
                    return Binaries(folder)
                time.sleep(2)
        for module, tools in BINARIES.items():
            missing = {path: name for path, name in tools.items()
                       if name in wanted and not (folder / name).is_file()}
            if missing:
                _build(TOOLS / module, missing, folder)
    return Binaries(folder)


def _build(module: Path, tools: dict[str, str], folder: Path) -> None:
    staging = folder / ".staging"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    argv = ["go", "build", "-trimpath", f"-ldflags={version_flags(module.name)}",
            "-o", f"{staging}/", *tools]
    done = subprocess.run(argv, cwd=module, capture_output=True, text=True,
                          env={**os.environ, "GOFLAGS": "-mod=readonly"})
    if done.returncode != 0:
        raise BuildFailed(f"{' '.join(argv)} in {module} failed:\n{done.stderr[-3000:]}")
    for path, name in tools.items():
        built = staging / path.rstrip("/").split("/")[-1]
        if re.fullmatch(r"v\d+", built.name):  # go names a /vN module by the element before
            built = staging / path.split("/")[-2]
        built.rename(folder / name)
    shutil.rmtree(staging, ignore_errors=True)


if __name__ == "__main__":  # the suite's background build (tests/conftest.py)
    print("built:", ensure_built().folder, flush=True)
