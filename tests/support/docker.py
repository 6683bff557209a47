"""A Docker engine of the tests' own, and the base image made with debootstrap.

No registry can be reached from these machines, so `debian:bookworm-slim` is made
here: debootstrap's minbase of bookworm from the machine's Debian mirror, imported
under that tag, so the Dockerfiles users build (FROM debian:bookworm-slim) build
unchanged. The machine reaches PyPI through a TLS-inspecting proxy; its CA
certificates go into the base image (as a site's base image would carry them),
with /etc/pip.conf pointing pip at the system bundle.

dockerd runs with its own data root, exec root and socket under the session's
folder, and with iptables off and no default bridge: the host's firewall is never
touched; builds use the host network, and the containers a test runs talk over a
user-defined network with only the gateway's port published, on 127.0.0.1.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from pathlib import Path

from cloudgeo.common.managed_processes import ManagedProcess, wait_until

BASE_IMAGE = "debian:bookworm-slim"
SOURCES = Path("/etc/apt/sources.list.d/debian.sources")
SITE_CAS = Path("/usr/local/share/ca-certificates")


def docker_client() -> str:
    """The client installed beside dockerd (Debian's docker.io): a machine may put
    another, newer `docker` first on PATH, whose API and builder need not match the
    engine these tests start."""
    engine = shutil.which("dockerd")
    beside = Path(engine).with_name("docker") if engine else None
    return str(beside) if beside and beside.exists() else "docker"


def why_no_engine() -> str | None:
    """Why the container tests cannot run here, or None when they can."""
    for tool in ("dockerd", "docker", "debootstrap"):
        if not shutil.which(tool):
            return f"'{tool}' is not installed (Debian: docker.io, debootstrap)"
    if os.geteuid() != 0:
        return "starting a Docker engine and running debootstrap need root"
    return None


def debian_mirror() -> str:
    if SOURCES.exists():
        found = re.search(r"^URIs:\s*(\S+)", SOURCES.read_text(), re.MULTILINE)
        if found:
            return found.group(1)
    return "http://deb.debian.org/debian"


class DockerEngine:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.socket = folder / "docker.sock"
        self.env = {**os.environ, "DOCKER_HOST": f"unix://{self.socket}"}
        self.process: ManagedProcess | None = None

    def start(self) -> DockerEngine:
        self.folder.mkdir(parents=True, exist_ok=True)
        argv = ["dockerd", f"--data-root={self.folder / 'data'}",
                f"--exec-root={self.folder / 'exec'}", f"--pidfile={self.folder / 'pid'}",
                f"--host=unix://{self.socket}", "--iptables=false", "--ip6tables=false",
                "--bridge=none"]
        self.process = ManagedProcess("dockerd", argv, self.folder / "dockerd.log",
                                      cwd=self.folder).start()
        wait_until(lambda: self.run("info", check=False).returncode == 0, 60, "dockerd",
                   self.process, interval=0.5)
        return self

    def run(self, *args: str, check: bool = True, timeout: float = 1800,
            cwd: Path | None = None) -> subprocess.CompletedProcess:
        done = subprocess.run([docker_client(), *args], env=self.env, capture_output=True,
                              text=True, timeout=timeout, cwd=cwd)
        if check and done.returncode != 0:
            raise RuntimeError(f"docker {' '.join(args)} failed:\n{done.stdout[-3000:]}\n"
                               f"{done.stderr[-3000:]}")
        return done

    def make_base_image(self) -> None:
        rootfs = self.folder / "rootfs"
        subprocess.run(["debootstrap", "--variant=minbase", "bookworm", str(rootfs),
                        debian_mirror()], check=True, capture_output=True, timeout=900)
        cas = rootfs / "usr/local/share/ca-certificates"
        cas.mkdir(parents=True, exist_ok=True)
        for cert in SITE_CAS.glob("*.crt"):
            shutil.copy(cert, cas / cert.name)
        (rootfs / "etc/pip.conf").write_text(
            "[global]\ncert = /etc/ssl/certs/ca-certificates.crt\n")
        # A dropped connection to the mirror should cost a retry, not the test run.
        (rootfs / "etc/apt/apt.conf.d/80-retries").write_text('Acquire::Retries "3";\n')
        tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
        subprocess.run([docker_client(), "import", "-", BASE_IMAGE], stdin=tar.stdout, env=self.env,
                       check=True, capture_output=True, timeout=600)
        tar.wait()
        shutil.rmtree(rootfs)

    def build(self, tag: str, dockerfile: Path, context: Path) -> float:
        started = time.monotonic()
        self.run("build", "--network=host", "-f", str(dockerfile), "-t", tag, str(context))
        return time.monotonic() - started

    def stop(self) -> None:
        if self.process:
            containers = self.run("ps", "-aq", check=False).stdout.split()
            if containers:
                self.run("rm", "-f", *containers, check=False)
            self.process.stop()
        # dockerd leaves its default network namespace mounted under the exec root (and,
        # if it died, overlay mounts under the data root): unmount, then remove the files.
        for root in ("exec", "data"):
            mounts = [line.split()[1] for line in Path("/proc/mounts").read_text().splitlines()
                      if line.split()[1].startswith(str(self.folder / root))]
            for mount in sorted(mounts, reverse=True):
                subprocess.run(["umount", "-l", mount], capture_output=True)
        shutil.rmtree(self.folder, ignore_errors=True)
