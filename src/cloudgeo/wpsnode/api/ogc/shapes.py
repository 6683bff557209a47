"""OGC API – Processes – Part 1: Core 1.0 documents, built from our records: pure.

Status words map from WPS 2.0's (ours) to OGC's: succeeded -> successful.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from cloudgeo.wpsnode.api.formats import INPUT_MIMES, mime_for
from cloudgeo.wpsnode.builtin import BuiltinProcess
from cloudgeo.wpsnode.catalog.kinds import DESTINATION_KINDS, REFERENCE_KINDS, UNSUPPORTED
from cloudgeo.wpsnode.jobs.record import JobRecord

CONF = "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf"
CONFORMANCE = [f"{CONF}/{c}" for c in ("core", "ogc-process-description", "json", "html",
                                       "oas30", "job-list", "callback", "dismiss")]
EXCEPTIONS = "http://www.opengis.net/def/exceptions/ogcapi-processes-1/1.0"
REL = "http://www.opengis.net/def/rel/ogc/1.0"
JOB_CONTROL = ["sync-execute", "async-execute", "dismiss"]
OGC_STATUS = {"accepted": "accepted", "running": "running", "succeeded": "successful",
              "failed": "failed", "dismissed": "dismissed"}
STATUS_FROM_OGC = {ogc: ours for ours, ogc in OGC_STATUS.items()}


def link(href: str, rel: str, title: str = "", media: str = "application/json") -> dict:
    entry = {"href": href, "rel": rel, "type": media}
    if title:
        entry["title"] = title
    return entry


def problem(kind: str, title: str, status: int, detail: str) -> dict[str, Any]:
    """An RFC 7807 problem with an OGC exception type where one is defined."""
    return {"type": f"{EXCEPTIONS}/{kind}" if "/" not in kind and ":" not in kind else kind,
            "title": title,
            "status": status, "detail": detail}


def conformance(job_list: bool, callbacks: bool) -> list[str]:
    """The classes this service declares: the job list and callbacks only where they
    are offered (CLOUDGEO_WPS_JOB_LIST, CLOUDGEO_WPS_CALLBACK_HOSTS)."""
    return [c for c in CONFORMANCE if (job_list or not c.endswith("/job-list"))
            and (callbacks or not c.endswith("/callback"))]


def landing(base: str, job_list: bool) -> dict[str, Any]:
    """The landing page; the job list is linked only where this service offers it
    (else /jobs answers 404)."""
    links = [
        link(f"{base}/", "self", "this document"),
        link(f"{base}/api", "service-desc", "the API definition",
             "application/vnd.oai.openapi+json;version=3.0"),
        link(f"{base}/conformance", "conformance", "conformance classes"),
        link(f"{base}/processes", f"{REL}/processes", "the processes"),
    ]
    if job_list:
        links.append(link(f"{base}/jobs", f"{REL}/job-list", "the jobs"))
    return {"title": "CloudGeo", "description": "Every QGIS processing algorithm as an OGC API",
            "links": links}


def matches(process: dict[str, Any], q: str) -> bool:
    """Whether a process is found by a search for `q` (words in its id, title, group or
    description, case-insensitive)."""
    text = " ".join((process["id"], process["title"], process.get("group", ""),
                     process.get("description", ""))).lower()
    return all(word in text for word in q.lower().split())


def process_summary(process: dict[str, Any], base: str) -> dict[str, Any]:
    return {
        "id": process["id"], "title": process["title"], "version": "1.0.0",
        "description": process["description"][:500],
        "keywords": [process["provider"], process["group"]],
        "jobControlOptions": JOB_CONTROL,
        "outputTransmission": ["value"] if process.get("builtin") else ["value", "reference"],
        "links": [link(f"{base}/processes/{process['id']}", "self", "process description")],
    }


def _input_schema(spec: dict[str, Any]) -> dict[str, Any]:
    kind = spec["dataType"]
    if kind in REFERENCE_KINDS:
        one = {"type": "string", "format": "uri",
               "contentMediaType": INPUT_MIMES[kind][0]}
    elif kind == "number":
        one = {"type": "integer" if spec.get("integer") else "number"}
        if spec.get("minimum") is not None:
            one["minimum"] = spec["minimum"]
        if spec.get("maximum") is not None:
            one["maximum"] = spec["maximum"]
    elif kind == "boolean":
        one = {"type": "boolean"}
    elif kind == "enum":
        one = {"oneOf": [{"type": "string", "enum": spec["options"]},
                         {"type": "integer", "minimum": 0,
                          "maximum": len(spec["options"]) - 1}]}
    elif kind == "extent":
        one = {"oneOf": [{"type": "array", "items": {"type": "number"}, "minItems": 4,
                          "maxItems": 4}, {"type": "string"}]}
    elif kind in ("json", "matrix"):
        one = {}
    else:
        one = {"type": "string"}
    if spec.get("default") is not None and kind not in REFERENCE_KINDS:
        one = {**one, "default": spec["default"]}
    if spec.get("allowMultiple"):
        return {"type": "array", "items": one}
    return one


def builtin_description(process: BuiltinProcess, base: str) -> dict[str, Any]:
    """A plain-Python process's description: its own inputs and outputs; by value only."""
    summary = {**process_summary(process.catalog_entry(), base),
               "keywords": list(process.keywords)}
    links = [link(f"{base}/processes/{process.id}/execution", f"{REL}/execute", "execute")]
    return {**summary, "links": summary["links"] + links, "inputs": dict(process.inputs),
            "outputs": dict(process.outputs)}


def process_description(process: dict[str, Any], base: str) -> dict[str, Any]:
    inputs = {}
    for spec in process["inputs"]:
        if spec["dataType"] == UNSUPPORTED:
            continue
        inputs[spec["name"]] = {
            "title": spec["title"] or spec["name"], "description": spec.get("help", ""),
            "schema": _input_schema(spec),
            "minOccurs": 0 if spec["optional"] or spec.get("default") is not None else 1,
            "maxOccurs": "unbounded" if spec.get("allowMultiple") else 1,
        }
    outputs = {}
    for out in process["outputs"]:
        if out["dataType"] in DESTINATION_KINDS:
            schema = {"oneOf": [{"type": "string", "format": "uri",
                                 "contentMediaType": mime_for(f)} for f in out["formats"]]}
        else:
            schema = {"type": {"outputNumber": "number", "outputBoolean": "boolean"}.get(
                out["type"], "string")}
        outputs[out["name"]] = {"title": out["title"] or out["name"], "schema": schema}
    links = [link(f"{base}/processes/{process['id']}/execution",
                  f"{REL}/execute", "execute")]
    summary = process_summary(process, base)
    return {**summary, "links": summary["links"] + links, "inputs": inputs,
            "outputs": outputs}


def seed_inputs(ogc_inputs: dict[str, Any]) -> dict[str, Any]:
    """OGC execute inputs ({"href"}, {"value"}, qualified values, lists) as our inputs."""

    def one(value: Any) -> Any:
        if isinstance(value, dict) and "href" in value:
            return {"type": "reference", "href": value["href"]}
        if isinstance(value, dict) and "value" in value:
            return value["value"]
        if isinstance(value, dict) and "bbox" in value:
            return value
        return value

    return {name: [one(v) for v in value] if isinstance(value, list) else one(value)
            for name, value in ogc_inputs.items()}


def seed_outputs(ogc_outputs: dict[str, Any] | None,
                 process: dict[str, Any]) -> dict[str, Any]:
    """OGC output requests ({"format": {"mediaType": ...}}) of file outputs as our format
    choices; a file output named without a format is made in its first format (an
    optional one is made only when asked for)."""
    from cloudgeo.wpsnode.api.formats import FORMAT_BY_MIME

    files = {d["name"] for d in process.get("destinations", [])}
    chosen = {}
    for name, request in (ogc_outputs or {}).items():
        media = ((request or {}).get("format") or {}).get("mediaType")
        if media:
            chosen[name] = {"format": FORMAT_BY_MIME.get(media.lower(), media)}
        elif name in files:
            chosen[name] = {}
    return chosen


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds")


def status_info(record: JobRecord, base: str) -> dict[str, Any]:
    status = OGC_STATUS[record.status]
    links = [link(f"{base}/jobs/{record.jobId}", "self", "job status"),
             link(f"{base}/jobs/{record.jobId}/log", "log", "the job's log: QGIS's messages",
                  "text/plain")]
    if status == "successful":
        links.append(link(f"{base}/jobs/{record.jobId}/results", f"{REL}/results",
                          "job results"))
    updated = max(t for t in (record.created, record.started, record.finished) if t)
    # The schema's times are date-time strings, never null: one not known yet (a job
    # not started, not finished) is left out.
    times = {name: _iso(epoch) for name, epoch in (
        ("created", record.created), ("started", record.started),
        ("finished", record.finished), ("updated", updated)) if epoch is not None}
    return {"jobID": record.jobId, "processID": record.identifier, "type": "process",
            "status": status, "message": record.message, **times,
            "progress": record.percentCompleted, "links": links}


def job_list(records: list[JobRecord], base: str, links: list[dict]) -> dict[str, Any]:
    """A page of the job list: each job's status document, and the page's links."""
    return {"jobs": [status_info(r, base) for r in records], "links": links}
