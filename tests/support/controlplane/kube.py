"""kubectl and helm against a test control plane, as the admin."""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.support.controlplane.server import ControlPlane

NAMESPACE = "cloudgeo"


@dataclass
class Kube:
    plane: ControlPlane
    binaries: object
    folder: Path

    def env(self) -> dict[str, str]:
        return {**os.environ, "KUBECONFIG": str(self.plane.admin_kubeconfig),
                "HELM_CACHE_HOME": str(self.folder / "helm/cache"),
                "HELM_CONFIG_HOME": str(self.folder / "helm/config"),
                "HELM_DATA_HOME": str(self.folder / "helm/data")}

    def run(self, tool: str, *argv: str, check: bool = True, input: str | None = None
            ) -> subprocess.CompletedProcess:
        done = subprocess.run([getattr(self.binaries, tool), *argv], capture_output=True,
                              text=True, env=self.env(), timeout=300, input=input)
        if check and done.returncode != 0:
            raise AssertionError(f"{tool} {' '.join(argv)}: {done.stderr or done.stdout}")
        return done

    def kubectl(self, *argv: str, check: bool = True, input: str | None = None
                ) -> subprocess.CompletedProcess:
        return self.run("kubectl", *argv, check=check, input=input)

    def get(self, kind: str, name: str, namespace: str = NAMESPACE) -> dict | None:
        done = self.kubectl("-n", namespace, "get", kind, name, "-o", "json", check=False)
        if done.returncode != 0:
            if "NotFound" in done.stderr:
                return None
            raise AssertionError(done.stderr)
        return json.loads(done.stdout)

    def items(self, kind: str, namespace: str = NAMESPACE, *selector: str) -> list[dict]:
        return json.loads(self.kubectl("-n", namespace, "get", kind, *selector,
                                       "-o", "json").stdout)["items"]
