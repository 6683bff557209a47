"""Messages name inputs and outputs, never the node's paths: pure rewriting.

QGIS, GDAL, GRASS and OTB report failures with the files they were given: the
job's folder on the node (`.../jobs/<id>/out/OUTPUT.tif`, `.../in/INPUT/0/...`).
Those become the input or output name; any other absolute path keeps only its last
part. URLs (`http://host/path`) are left as they are: the caller gave them.
"""

from __future__ import annotations

import re
from pathlib import Path

_STOP = r"\s'\"<>|,;:()\[\]{}"
_ABSOLUTE = re.compile(rf"(?<![\w:/.~-])(/[^{_STOP}/]+)+/?")


def redact_paths(message: str, job_folder: Path | None = None) -> str:
    if job_folder is not None:
        base = re.escape(str(job_folder))
        message = re.sub(rf"{base}/out/([^{_STOP}/]+)(/[^{_STOP}]*)?",
                         lambda m: _output_name(m.group(1)), message)
        message = re.sub(rf"{base}/in/([^{_STOP}/]+)(/[^{_STOP}]*)?", r"\1", message)
        message = re.sub(rf"{base}[^{_STOP}]*", "the job", message)
    return _ABSOLUTE.sub(lambda m: _last_part(m.group(0)), message)


def _output_name(part: str) -> str:
    return part.split(".", 1)[0]


def _last_part(path: str) -> str:
    parts = [p for p in path.split("/") if p]
    if len(parts) < 2:  # "/" or "/x": a division or an option, not worth hiding
        return path
    return parts[-1]
