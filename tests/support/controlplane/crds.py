"""CustomResourceDefinitions of other projects (KEDA, prometheus-operator), read from
those projects' Go modules at the versions pinned in tools/crds/go.mod (checked against
its go.sum) so the test control plane admits our objects by their real schemas."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from tests.support.controlplane.build import TOOLS, BuildFailed

MODULE = TOOLS / "crds"
KEDA = "github.com/kedacore/keda/v2"
PROMETHEUS_OPERATOR = "github.com/prometheus-operator/prometheus-operator"
# (module, path inside it) of each CRD the tests install.
CRD_FILES = {
    "scaledobjects.keda.sh": (KEDA, "config/crd/bases/keda.sh_scaledobjects.yaml"),
    "triggerauthentications.keda.sh": (KEDA,
                                       "config/crd/bases/keda.sh_triggerauthentications.yaml"),
    "servicemonitors.monitoring.coreos.com": (
        PROMETHEUS_OPERATOR,
        "example/prometheus-operator-crd/monitoring.coreos.com_servicemonitors.yaml"),
}


def module_dir(module: str) -> Path:
    """The module's files in Go's module cache, downloaded first when missing."""
    done = subprocess.run(["go", "mod", "download", "-json", module], cwd=MODULE,
                          capture_output=True, text=True,
                          env={**os.environ, "GOFLAGS": "-mod=readonly"})
    try:
        found = json.loads(done.stdout)
    except ValueError:
        found = {}
    if done.returncode != 0 or "Dir" not in found:
        raise BuildFailed(f"go mod download {module} in {MODULE} failed: "
                          f"{found.get('Error') or done.stderr[-2000:]}")
    return Path(found["Dir"])


def crd_file(name: str) -> Path:
    module, relative = CRD_FILES[name]
    path = module_dir(module) / relative
    if not path.is_file():
        raise BuildFailed(f"{relative} is not in {module} (tools/crds/go.mod)")
    return path
