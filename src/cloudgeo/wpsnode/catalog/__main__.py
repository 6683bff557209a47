"""`python -m cloudgeo.wpsnode.catalog OUT.json`: dump every algorithm's description.

QGIS is started in this short-lived process so that the HTTP workers, which
only need descriptions, never load QGIS themselves.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path


def main() -> None:
    out = Path(sys.argv[1])
    state = Path(sys.argv[2]) if len(sys.argv) > 2 else Path(tempfile.mkdtemp(prefix="qgis-"))
    from cloudgeo.wpsnode.catalog.introspect import describe_algorithm, qgis_version
    from cloudgeo.wpsnode.qgis_runtime import algorithms, start_qgis

    start_qgis(state)
    processes = sorted((describe_algorithm(a) for a in algorithms()), key=lambda p: p["id"])
    document = {"qgisVersion": qgis_version(), "processes": processes}
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(document, ensure_ascii=False))
    tmp.replace(out)
    print(f"{len(processes)} processes written to {out}")


if __name__ == "__main__":
    main()
