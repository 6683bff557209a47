"""The publication policy over QGIS's real 767 algorithms, and the expression functions
it names as they are in this QGIS."""

from __future__ import annotations

import json
import subprocess
import sys

from cloudgeo.wpsnode.catalog.policy import REVIEW, load_table, review
from cloudgeo.wpsnode.inputs.expression_guard import DENIED_FUNCTIONS


def test_the_committed_review_is_this_qgis_catalogue_under_the_defaults(catalog_path):
    processes = {p["id"]: p for p in json.loads(catalog_path.read_text())["processes"]}
    assert len(processes) == 767
    assert REVIEW.read_text() == review(processes), \
        "run: python -m cloudgeo.wpsnode.catalog.policy CATALOG.json, and review the diff"
    assert set(load_table()) <= set(processes)  # no stale or misspelt id in the table


def test_denied_expression_functions_exist_and_cover_files_and_paths(tmp_path):
    code = ("import json; from qgis.core import QgsApplication, QgsExpression; "
            "app = QgsApplication([], False); app.initQgis(); "
            "print(json.dumps([[f.name(), f.groups()] for f in QgsExpression.Functions()]))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, env={"QT_QPA_PLATFORM": "offscreen", "HOME": str(tmp_path),
                                           "XDG_RUNTIME_DIR": str(tmp_path),
                                           "TMPDIR": str(tmp_path)})
    functions = {name: groups for name, groups in json.loads(done.stdout.splitlines()[-1])}
    assert set(DENIED_FUNCTIONS) <= set(functions)
    files = {name for name, groups in functions.items() if "Files and Paths" in groups}
    assert files and files <= set(DENIED_FUNCTIONS)
