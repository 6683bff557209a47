"""The control plane's binaries built in the background while the suite's first tests run.

On a fresh machine the Go build (about 22 minutes on 2 cores) would otherwise start
only when the first control-plane test asks for the binaries, after the unit,
integration and container tests: built beside them instead, on the CPU and disk time
they leave idle (SCHED_IDLE and the idle I/O class: a test waiting for a QGIS worker to
start must not wait for the compiler too), it is done or nearly so by then. The tests'
own `ensure_built(names)` waits only for the binaries they need (the build goes on with
Consul's, last, which only its own test waits for), and builds (and fails with the
reason) whatever the background build could not.
"""

from __future__ import annotations

import sys
from pathlib import Path

from cloudgeo.common.managed_processes import ManagedProcess
from tests.support.controlplane.build import ROOT, missing_binaries


def start_background_build(log: Path) -> ManagedProcess | None:
    """The background build, or None when every binary is already in the cache."""
    if not missing_binaries():
        return None
    argv = ["ionice", "-c", "3", "chrt", "--idle", "0",
            sys.executable, "-m", "tests.support.controlplane.build"]
    return ManagedProcess("control plane build", argv, log, cwd=ROOT).start()
