"""Builds QGIS models and scripts from their source, and describes them (QGIS needed).

`python -m cloudgeo.wpsnode.catalog.describe_models STATE_DIR` reads
`[{"kind", "name", "content"}, ...]` as JSON on stdin and writes one answer per item
on stdout, `{"description": ...}` (with `steps`: each step's algorithm id and the
parameters it sets) or `{"error": ...}`: a short-lived QGIS process, as for the
catalogue, so that the HTTP workers never load QGIS. The QGIS worker builds a job's
model or script with the same `build_algorithm` from the definition its job carries.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from cloudgeo.wpsnode.catalog.models import MODEL, SCRIPT, content_problem


class ModelError(ValueError):
    pass


def _model(content: str):
    from qgis.core import QgsProcessingModelAlgorithm, QgsXmlUtils
    from qgis.PyQt.QtXml import QDomDocument

    document = QDomDocument()
    parsed = document.setContent(content)
    ok = parsed[0] if isinstance(parsed, tuple) else parsed
    if not ok:
        detail = f" ({parsed[1]}, line {parsed[2]})" if isinstance(parsed, tuple) else ""
        raise ModelError(f"the model is not well-formed XML{detail}")
    variant = QgsXmlUtils.readVariant(document.firstChildElement())
    if not isinstance(variant, dict):
        raise ModelError("the model's XML holds no model (a Map <Option>)")
    model = QgsProcessingModelAlgorithm()
    if not model.loadVariant(variant):
        raise ModelError("QGIS could not read the model")
    return model


def _script(name: str, content: str):
    import types

    from qgis.core import QgsProcessingAlgorithm

    module = types.ModuleType(f"cloudgeo_script_{name}")
    exec(compile(content, f"<script:{name}>", "exec"), module.__dict__)  # the operator's code
    classes = [v for v in vars(module).values()
               if isinstance(v, type) and issubclass(v, QgsProcessingAlgorithm)
               and v.__module__ == module.__name__]
    if len(classes) != 1:
        raise ModelError(f"a script must define exactly one QgsProcessingAlgorithm subclass, "
                         f"this one defines {len(classes)}")
    algorithm = classes[0]()
    algorithm.initAlgorithm({})  # running it makes its own copy (create())
    return algorithm


def build_algorithm(kind: str, name: str, content: str):
    """The QGIS algorithm a model's or script's source defines (QGIS started)."""
    problem = content_problem(kind, content)
    if problem:
        raise ModelError(problem)
    if kind == MODEL:
        return _model(content)
    if kind == SCRIPT:
        return _script(name, content)
    raise ModelError(f"unknown kind {kind!r}")


def steps(model) -> list[dict[str, Any]]:
    """Each step of a model: the algorithm it calls and the parameters it sets."""
    from qgis.core import QgsProcessingModelChildParameterSource as Source

    found = []
    for child in model.childAlgorithms().values():
        set_names = []
        for parameter, sources in child.parameterSources().items():
            if any(s.source() != Source.StaticValue or s.staticValue() not in (None, "")
                   for s in sources):
                set_names.append(parameter)
        found.append({"algorithm": child.algorithmId(), "parameters": sorted(set_names)})
    return found


def describe(kind: str, name: str, content: str) -> dict[str, Any]:
    from cloudgeo.wpsnode.catalog.introspect import describe_algorithm

    algorithm = build_algorithm(kind, name, content)
    described = describe_algorithm(algorithm)
    if kind == MODEL:
        described["steps"] = steps(algorithm)
    return described


def main() -> None:
    state = Path(sys.argv[1])
    items = json.loads(sys.stdin.read())
    from cloudgeo.wpsnode.qgis_runtime import start_qgis

    start_qgis(state)
    answers = []
    for item in items:
        try:
            answers.append({"description": describe(item["kind"], item["name"],
                                                    item["content"])})
        except Exception as exc:  # each item's own failure, named
            answers.append({"error": f"{type(exc).__name__}: {exc}"[:500]})
    sys.stdout.write("\n" + json.dumps(answers) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
