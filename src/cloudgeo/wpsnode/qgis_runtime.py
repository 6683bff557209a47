"""Starts QGIS headless, once per process, in its main thread (DESIGN.md's recipe)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

PLUGINS = "/usr/share/qgis/python/plugins"
OTB_APPLICATIONS = "/usr/lib/x86_64-linux-gnu/otb/applications"
# SAGA in Debian 12 is 8.5, which QGIS 3.22 refuses; its provider is left out.
PROVIDERS = ("native", "qgis", "gdal", "grass7", "otb", "3d")

_app = None


def prepare_environment(state_dir: Path) -> None:
    """Points QGIS's scratch and config paths at a folder we own; must precede the import."""
    state_dir.mkdir(parents=True, exist_ok=True)
    runtime = state_dir / "runtime"
    runtime.mkdir(mode=0o700, exist_ok=True)
    os.environ["QT_QPA_PLATFORM"] = "offscreen"  # else the process aborts without a display
    os.environ["XDG_RUNTIME_DIR"] = str(runtime)
    for name in ("XDG_CACHE_HOME", "XDG_CONFIG_HOME", "TMPDIR"):
        folder = state_dir / name.lower()
        folder.mkdir(exist_ok=True)
        os.environ[name] = str(folder)
    home = Path(os.environ.get("HOME") or state_dir / "home")
    if not home.is_dir():  # GRASS loads no algorithm without a HOME that exists
        home = state_dir / "home"
        home.mkdir(exist_ok=True)
        os.environ["HOME"] = str(home)


def start_qgis(state_dir: Path):
    """The process's QgsApplication, with every provider's algorithms loaded."""
    global _app
    if _app is not None:
        return _app
    prepare_environment(state_dir)
    if PLUGINS not in sys.path:
        sys.path.append(PLUGINS)
    from qgis.core import QgsApplication

    QgsApplication.setPrefixPath("/usr", True)
    app = QgsApplication([], False, str(state_dir / "profile"))
    app.initQgis()
    from processing.core.Processing import Processing
    from processing.core.ProcessingConfig import ProcessingConfig

    Processing.initialize()
    ProcessingConfig.setSettingValue("OTB_FOLDER", "/usr")
    ProcessingConfig.setSettingValue("OTB_APP_FOLDER", OTB_APPLICATIONS)
    otb = QgsApplication.processingRegistry().providerById("otb")
    if otb is not None:
        otb.refreshAlgorithms()
    _app = app
    return app


def algorithms():
    from qgis.core import QgsApplication

    return [a for a in QgsApplication.processingRegistry().algorithms()
            if a.provider().id() in PROVIDERS]
