"""etcd, kube-apiserver, kube-controller-manager and kube-scheduler on 127.0.0.1, on
free ports, with their state in one folder; `ControlPlane.stop()` stops every process
group it started.

The API server runs RBAC (and Node) authorization and, beyond the default admission
plugins, OwnerReferencesPermissionEnforcement (as OpenShift does), so a missing RBAC
rule of the operator fails. The controller manager and scheduler authenticate as
admin (group system:masters): that is the tests' simplification, not the product's.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import requests
import yaml
from urllib3.exceptions import InsecureRequestWarning

from cloudgeo.common.managed_processes import ManagedProcess, free_port, wait_until
from tests.support.controlplane.build import Binaries
from tests.support.controlplane.pki import Pki, kubeconfig, make_pki

SERVICE_RANGE = "10.96.0.0/16"


class ControlPlane:
    def __init__(self, binaries: Binaries, folder: Path,
                 serving_ips: tuple[str, ...] = ()) -> None:
        self.binaries, self.folder = binaries, folder
        self.serving_ips = serving_ips  # more addresses clients reach it at (a real node's)
        self.processes: list[ManagedProcess] = []
        self.pki: Pki | None = None
        self.url = ""

    @property
    def admin_kubeconfig(self) -> Path:
        return self.folder / "admin.kubeconfig"

    def start(self) -> ControlPlane:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.pki = pki = make_pki(self.folder / "pki", self.serving_ips)
        taken: set[int] = set()
        etcd_port, peer_port = free_port(taken=taken), free_port(taken=taken)
        api_port = free_port(taken=taken)
        etcd = f"http://127.0.0.1:{etcd_port}"
        self._run("etcd", [
            self.binaries.etcd, "--name", "test", "--data-dir", str(self.folder / "etcd"),
            "--listen-client-urls", etcd, "--advertise-client-urls", etcd,
            "--listen-peer-urls", f"http://127.0.0.1:{peer_port}",
            "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer_port}",
            "--initial-cluster", f"test=http://127.0.0.1:{peer_port}",
            "--log-level", "warn"], f"{etcd}/health")
        self.url = f"https://127.0.0.1:{api_port}"
        self._run("kube-apiserver", [
            self.binaries.kube_apiserver, "--etcd-servers", etcd,
            "--bind-address", "127.0.0.1", "--advertise-address", "127.0.0.1",
            "--secure-port", str(api_port), "--endpoint-reconciler-type", "none",
            "--tls-cert-file", pki.path("apiserver.crt"),
            "--tls-private-key-file", pki.path("apiserver.key"),
            "--client-ca-file", pki.path("ca.crt"),
            "--service-account-issuer", "https://kubernetes.default.svc",
            "--service-account-key-file", pki.path("sa.pub"),
            "--service-account-signing-key-file", pki.path("sa.key"),
            "--service-cluster-ip-range", SERVICE_RANGE,
            "--authorization-mode", "Node,RBAC", "--allow-privileged=true",
            "--enable-admission-plugins", "OwnerReferencesPermissionEnforcement",
            "--profiling=false"], f"{self.url}/readyz")
        self.write_kubeconfig(self.admin_kubeconfig, {
            "client-certificate": pki.path("admin.crt"), "client-key": pki.path("admin.key")})
        common = ["--kubeconfig", str(self.admin_kubeconfig), "--bind-address", "127.0.0.1",
                  "--leader-elect=false", "--profiling=false"]
        manager_port, scheduler_port = free_port(taken=taken), free_port(taken=taken)
        self._run("kube-controller-manager", [
            self.binaries.kube_controller_manager, *common,
            "--secure-port", str(manager_port),
            "--service-account-private-key-file", pki.path("sa.key"),
            "--root-ca-file", pki.path("ca.crt"), "--use-service-account-credentials",
            "--cluster-signing-cert-file", pki.path("ca.crt"),
            "--cluster-signing-key-file", pki.path("ca.key")],
            f"https://127.0.0.1:{manager_port}/healthz")
        self._run("kube-scheduler", [self.binaries.kube_scheduler, *common,
                                     "--secure-port", str(scheduler_port)],
                  f"https://127.0.0.1:{scheduler_port}/healthz")
        return self

    def write_kubeconfig(self, path: Path, user: dict[str, str]) -> Path:
        assert self.pki is not None
        path.write_text(yaml.safe_dump(kubeconfig(self.url, self.pki.path("ca.crt"), user)))
        path.chmod(0o600)
        return path

    def _run(self, name: str, argv: list[str], health: str) -> None:
        process = ManagedProcess(name, argv, self.folder / "logs" / f"{name}.log").start()
        self.processes.append(process)
        assert self.pki is not None
        cert = (self.pki.path("admin.crt"), self.pki.path("admin.key"))

        def healthy() -> bool:
            # The controller manager and scheduler serve /healthz with their own
            # self-signed certificate: not verified (only on 127.0.0.1).
            verify = self.pki.path("ca.crt") if name == "kube-apiserver" else False
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", InsecureRequestWarning)
                answer = requests.get(health, cert=cert, verify=verify, timeout=2)
            return answer.status_code == 200
        wait_until(healthy, 120, name, process, interval=0.5)

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.stop()
        self.processes.clear()
