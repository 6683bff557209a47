"""Which QGIS expressions a job may run: no function that reads the node itself.

QGIS expressions (field calculator formulas, filters, every `expression` parameter,
expressions inside field mappings) run in the QGIS worker. Functions that reveal
the worker's environment, its files or its layers' paths, or that write files, are
refused, and so is anything that evaluates text as an expression at run time (which
would hide such a call from this check). Every literal a job passes is parsed; one
that parses as an expression is checked (a plain value does not parse, or holds no
function: nothing is lost by checking it).

Independently of this check, the worker's environment holds no credential
(cloudgeo.common.secrets).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from cloudgeo.wpsnode.inputs.text_guard import texts

# QGIS 3.22's functions that read the node: name -> why (tests/unit keep these real).
DENIED_FUNCTIONS = {
    "env": "reads the worker's environment",
    "eval": "evaluates text as an expression at run time",
    "eval_template": "evaluates text as an expression at run time",
    "base_file_name": "reads the node's file system",
    "exif": "reads files of the node",
    "exif_geotag": "reads files of the node",
    "file_exists": "reads the node's file system",
    "file_name": "reads the node's file system",
    "file_path": "reads the node's file system",
    "file_size": "reads the node's file system",
    "file_suffix": "reads the node's file system",
    "is_directory": "reads the node's file system",
    "is_file": "reads the node's file system",
    "layer_property": "reveals layer sources (paths on the node)",
    "decode_uri": "reveals layer sources (paths on the node)",
    "raster_value": "opens a layer by name",
    "raster_statistic": "opens a layer by name",
    "sqlite_fetch_and_increment": "opens and writes an SQLite file of the node",
}
# Variables naming the node's paths or accounts; '' is a variable named at run time.
DENIED_VARIABLE = re.compile(r"^$|path|home|folder|file|dir|user_")


def function_problem(functions: set[str], variables: set[str]) -> str | None:
    """Pure: why an expression using these functions and variables is refused."""
    for name in sorted(functions & DENIED_FUNCTIONS.keys()):
        return (f"uses the expression function {name}(), which is not available on this "
                f"service ({DENIED_FUNCTIONS[name]})")
    for name in sorted(variables):
        if DENIED_VARIABLE.search(name):
            what = f"@{name}" if name else "a variable named at run time (var() of a non-literal)"
            return f"uses {what}, which is not available on this service"
    return None


def expression_problem(literals: Mapping[str, Any]) -> tuple[str, str] | None:
    """(input name, why) for the first literal holding a refused expression, or None.
    Needs QGIS (runs in the worker)."""
    from qgis.core import QgsExpression

    for name, value in literals.items():
        for text in texts(value):
            expression = QgsExpression(text)
            if expression.hasParserError():
                continue
            problem = function_problem(set(expression.referencedFunctions()),
                                       set(expression.referencedVariables()))
            if problem:
                return name, problem
    return None
