"""QGIS Processing models (`.model3`) and scripts as processes: pure rules and the folder.

An operator publishes models and scripts from a folder (CLOUDGEO_WPS_MODELS_DIR: a
ConfigMap or volume in Kubernetes); an administrator deploys models through the OGC
API (Part 2), stored once in Redis (cloudgeo.wpsnode.jobs.models). Each becomes a
process, `model:<name>` or `script:<name>`, described by QGIS itself in a short-lived
process (catalog/describe_models.py) and published under the same policy as any
algorithm, plus one rule of its own:

- a model is published only when every algorithm it calls is a published algorithm of
  the base catalogue (so never another model or a script, never a withheld algorithm,
  never one the node runs only through its own fetcher), and none of its steps sets a
  parameter the policy never accepts (GDAL's raw EXTRA);
- a script is the operator's own code and is published as the operator's decision
  (only from the operator's folder: callers can never send one).
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cloudgeo.wpsnode.catalog.policy import (
    GUARDED_URL_PARAMETERS,
    WITHHELD_PARAMETERS,
    Decision,
    PublicationPolicy,
)

MODEL, SCRIPT = "model", "script"
SUFFIXES = {".model3": MODEL, ".py": SCRIPT}
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
PROVIDER_NAMES = {MODEL: "QGIS models", SCRIPT: "QGIS scripts"}
QGIS_FAILED = "QGIS failed to describe it"  # the describing process, not the model


@dataclass(frozen=True)
class ModelDefinition:
    """A model's or script's source, where it came from, and its content hash."""
    kind: str  # MODEL or SCRIPT
    name: str
    content: str
    origin: str = "folder"  # or "deployed"

    @property
    def identifier(self) -> str:
        return f"{self.kind}:{self.name}"

    @property
    def sha(self) -> str:
        return hashlib.sha256(f"{self.kind}\0{self.content}".encode()).hexdigest()


def identifier_parts(identifier: str) -> tuple[str, str] | None:
    """(kind, name) of a model or script process id, else None."""
    kind, _, name = identifier.partition(":")
    if kind in (MODEL, SCRIPT) and NAME.fullmatch(name):
        return kind, name
    return None


def name_problem(name: str) -> str | None:
    if not NAME.fullmatch(name):
        return (f"{name!r} is not a model name: 1 to 64 letters, digits, '_', '.' or '-', "
                "starting with a letter or digit")
    return None


def read_folder(folder: Path | None, max_size: int) -> tuple[dict[str, ModelDefinition],
                                                            dict[str, str]]:
    """The models and scripts in the operator's folder: (id -> definition, file -> why
    skipped). Files are followed through links (a ConfigMap's `..data`), hidden ones
    and subfolders ignored."""
    found: dict[str, ModelDefinition] = {}
    skipped: dict[str, str] = {}
    if folder is None or not folder.is_dir():
        return found, skipped
    for entry in sorted(os.scandir(folder), key=lambda e: e.name):
        path = Path(entry.path)
        kind = SUFFIXES.get(path.suffix)
        if entry.name.startswith(".") or kind is None or not path.is_file():
            continue
        problem = name_problem(path.stem)
        if problem is None and path.stat().st_size > max_size:
            problem = f"larger than CLOUDGEO_WPS_MAX_MODEL_SIZE ({max_size} bytes)"
        if problem is None:
            try:
                found[f"{kind}:{path.stem}"] = ModelDefinition(
                    kind, path.stem, path.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError) as exc:
                problem = f"unreadable: {exc}"
        if problem:
            skipped[entry.name] = problem
    return found, skipped


def folder_signature(folder: Path | None) -> tuple:
    """What changes when a file of the folder changes (links followed): cheap to poll."""
    if folder is None or not folder.is_dir():
        return ()
    signature = []
    for entry in os.scandir(folder):
        try:
            stat = os.stat(entry.path)  # follows a ConfigMap's links
        except OSError:
            continue
        signature.append((entry.name, stat.st_size, stat.st_mtime_ns, stat.st_ino))
    return tuple(sorted(signature))


def content_problem(kind: str, content: str) -> str | None:
    """Refusals made before QGIS sees a model's text (pure)."""
    if kind == MODEL:
        head = content.lstrip()[:200]
        if "<!ENTITY" in content or "<!entity" in content.lower():
            return "XML entity declarations are not accepted in a model"
        if not (head.startswith("<!DOCTYPE model>") or head.startswith("<Option")
                or head.startswith("<?xml")):
            return ("not a QGIS .model3 document (XML starting with <!DOCTYPE model> and "
                    "an <Option type=\"Map\"> root)")
    return None


def model_algorithms(content: str) -> list[str] | None:
    """The algorithm ids a .model3's steps name (its `alg_id` options), read without
    QGIS, so a model calling what is not published is refused before QGIS loads it;
    None when the text is not XML. Call after content_problem (no entities)."""
    from xml.etree import ElementTree

    try:
        root = ElementTree.fromstring(content)
    except ElementTree.ParseError:
        return None
    return [option.get("value", "") for option in root.iter("Option")
            if option.get("name") == "alg_id"]


def as_process(definition: ModelDefinition, described: Mapping[str, Any]) -> dict[str, Any]:
    """QGIS's description of a model or script, as a process of this catalogue."""
    kept = {k: v for k, v in described.items() if k != "steps"}
    # A model's help is HTML (QGIS's modeler writes it so): plain text, as elsewhere.
    kept["description"] = re.sub(r"\s*\n\s*", "\n", re.sub(r"<[^>]*>", "\n", str(
        described.get("description") or ""))).strip()
    return {**kept, "id": definition.identifier, "provider": definition.kind,
            "providerName": PROVIDER_NAMES[definition.kind],
            "group": described.get("group") or PROVIDER_NAMES[definition.kind],
            "title": described.get("title") or definition.name,
            "origin": definition.origin}


def children_problem(steps: list[Mapping[str, Any]],
                     published: Mapping[str, Mapping[str, Any]]) -> str | None:
    """Why a model's steps keep it from being published, or None. `steps`: each step's
    `algorithm` id and the `parameters` it sets; `published`: the base catalogue."""
    if not steps:
        return "the model has no step"
    refused = []
    for step in steps:
        algorithm = str(step.get("algorithm", ""))
        if algorithm in GUARDED_URL_PARAMETERS:
            refused.append(f"{algorithm} (run only through the node's own fetcher)")
        elif algorithm not in published:
            refused.append(algorithm or "an unnamed algorithm")
        else:
            provider = published[algorithm]["provider"]
            refused += [f"{algorithm} with its parameter {name} "
                        f"({WITHHELD_PARAMETERS[provider, name]})"
                        for name in step.get("parameters", ())
                        if (provider, name) in WITHHELD_PARAMETERS]
    if refused:
        return ("calls what this service does not publish (a withheld or unknown "
                f"algorithm, another model, a script): {', '.join(sorted(set(refused)))}")
    return None


def decide(definition: ModelDefinition, described: Mapping[str, Any] | None,
           error: str | None, policy: PublicationPolicy,
           published: Mapping[str, Mapping[str, Any]]) -> Decision:
    """Whether a model or script is published, with the reason when it is not."""
    if described is None:
        algorithms = model_algorithms(definition.content) \
            if definition.kind == MODEL and not content_problem(MODEL, definition.content) \
            else None
        problem = children_problem([{"algorithm": a} for a in algorithms],
                                   published) if algorithms else None
        return Decision(False, problem or f"QGIS could not load it: {error or 'no description'}")
    process = as_process(definition, described)
    decision = policy.decide(process)
    if not decision.published:
        return decision
    if definition.kind == MODEL:
        problem = children_problem(described.get("steps", []), published)
        if problem:
            return Decision(False, problem)
    elif definition.origin != "folder":  # never a caller's script
        return Decision(False, "scripts are published only from the operator's folder")
    return decision


def review(decisions: Mapping[str, Decision]) -> str:
    """The publication outcome of every model and script, as the TSV review says it."""
    lines = ["# id\toutcome\treason (models and scripts, written by the node)"]
    for pid in sorted(decisions):
        decision = decisions[pid]
        outcome = "published" if decision.published else "withheld"
        lines.append(f"{pid}\t{outcome}\t{'' if decision.published else decision.reason}"
                     .rstrip("\t"))
    return "\n".join(lines) + "\n"


def describe_with_qgis(definitions: list[ModelDefinition], state_dir: Path,
                       timeout: float = 120) -> dict[str, tuple[dict | None, str | None]]:
    """sha -> (QGIS's description, or None and why not), from one short-lived QGIS
    process (catalog/describe_models.py): the HTTP workers never load QGIS."""
    import json
    import shutil
    import subprocess
    import sys
    import tempfile

    if not definitions:
        return {}
    items = [{"kind": d.kind, "name": d.name, "content": d.content} for d in definitions]
    state_dir.mkdir(parents=True, exist_ok=True)
    own = Path(tempfile.mkdtemp(prefix="describe-", dir=state_dir))  # one per QGIS
    try:
        done = subprocess.run([sys.executable, "-m", "cloudgeo.wpsnode.catalog.describe_models",
                               str(own)], input=json.dumps(items), capture_output=True,
                              text=True, timeout=timeout, check=False)
        answers = json.loads(done.stdout.strip().splitlines()[-1]) if done.stdout.strip() \
            else None
    except (subprocess.TimeoutExpired, ValueError) as exc:
        answers, done = None, exc
    finally:
        shutil.rmtree(own, ignore_errors=True)
    if not isinstance(answers, list) or len(answers) != len(definitions):
        detail = getattr(done, "stderr", "") or str(done)
        return {d.sha: (None, f"{QGIS_FAILED}: {str(detail)[-300:]}")
                for d in definitions}
    return {d.sha: (a.get("description"), a.get("error"))
            for d, a in zip(definitions, answers, strict=True)}
