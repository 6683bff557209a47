"""Which caller-given texts a process may receive: pure checks on literal values.

Some providers hand parameters to command-line tools: OTB through a shell
(`shell=True`, strings in double quotes, field names bare), GRASS through a shell
batch script (strings in double quotes), GDAL through QGIS's own argument splitting
(no shell, but a space and a dash make a new option). A caller's text must stay one
argument there. And no text may name a local file, a GDAL virtual file system or a
URL: inputs reach a process only as fetched references (cloudgeo.wpsnode.inputs.fetch).
"""

from __future__ import annotations

import re
from typing import Any

SHELL_PROVIDERS = {"otb", "grass7"}
ARGUMENT_PROVIDERS = {"gdal"}
# Special inside double quotes for a POSIX shell (control characters are refused before).
_SHELL_QUOTED_BAD = re.compile(r'["`$\\]')
# A name that goes onto a shell command line bare (OTB joins field names with spaces).
_BARE_WORD = re.compile(r"[A-Za-z0-9_.:-]+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_CONTROL_BUT_LINES = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_OPTION = re.compile(r"(^|\s)-{1,2}[A-Za-z]")
# An absolute or home path at the start or after a separator (PROJ's +nadgrids=/...),
# a GDAL virtual file system, a file: or any other URL, a parent-folder step.
_PATH_LIKE = re.compile(r"(^|[\s=,;:(])(/[^\s/]|~/|\\\\)|/vsi|\bfile:|://"
                        r"|(^|[/\\])\.\.([/\\]|$)", re.IGNORECASE)
CRS_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9_]*:[A-Za-z0-9_.-]+")


def texts(value: Any):
    """Every string in a literal: itself, or those nested in lists and objects."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, list | tuple):
        for item in value:
            yield from texts(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from texts(key)
            yield from texts(item)


def text_problem(provider: str, kind: str, value: Any) -> str | None:
    """Why this literal may not be given to a process of `provider`, or None."""
    local = provider not in SHELL_PROVIDERS | ARGUMENT_PROVIDERS
    control = _CONTROL_BUT_LINES if local else _CONTROL
    for text in texts(value):
        if control.search(text):
            return "contains a control character (a NUL, or a line break for a command-line tool)"
        if kind == "string" and _PATH_LIKE.search(text):
            return (f"{text!r} looks like a path or a URL; files and links are given as "
                    'inputs of type {"type": "reference", "href": URL}, not as text')
        if provider in SHELL_PROVIDERS:
            if kind == "field" and not _BARE_WORD.fullmatch(text):
                return (f"{text!r} is not a plain field name (letters, digits, '_', '.', "
                        "':' and '-')")
            found = _SHELL_QUOTED_BAD.search(text)
            if found:
                return (f"{found.group()!r} is not allowed in the parameters of "
                        f"{provider} processes")
        if provider in ARGUMENT_PROVIDERS and kind in ("string", "field", "expression"):
            if '"' in text:
                return f"'\"' is not allowed in the parameters of {provider} processes"
            if _OPTION.search(text):
                return (f"{text!r} holds a command-line option (a '-' that starts a word); "
                        f"not allowed in the parameters of {provider} processes")
    return None


def crs_problem(text: str) -> str | None:
    if not CRS_TEXT.fullmatch(text.strip()):
        return f"must be a CRS as AUTHORITY:CODE, such as 'EPSG:4326', got {text!r}"
    return None
