"""WPS 1.0.0 status documents (ExecuteResponse) rendered from a job record.

PyWPS writes the status document of an asynchronous Execute to the disk of the
node that accepted it; here it is rendered on request from the job's record in
Redis instead, so the statusLocation a client polls answers on every node, and
keeps answering after that node is gone. PyWPS's own template renders it, so the
document is the same one PyWPS would have written.
"""

from __future__ import annotations

import functools
import time
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from cloudgeo.wpsnode.api.formats import mime_for
from cloudgeo.wpsnode.caller import Caller
from cloudgeo.wpsnode.catalog.kinds import DESTINATION_KINDS
from cloudgeo.wpsnode.jobs.record import ACCEPTED, RUNNING, SUCCEEDED, JobRecord
from cloudgeo.wpsnode.jobs.service import JobService

# WPS literal data types of QGIS output types (strings for everything else).
LITERAL_DATA_TYPES = {"outputNumber": "float", "outputBoolean": "boolean"}


def status_words(record: JobRecord) -> dict[str, str]:
    """The template's `status` block: WPS 1.0.0 knows accepted/started/succeeded/failed."""
    stamp = record.finished or record.started or record.created
    words = {"time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(stamp)),
             "message": record.message or record.status,
             "percent_done": str(min(int(record.percentCompleted or 0), 99))}
    if record.status == ACCEPTED:
        words["status"] = "accepted"
    elif record.status == RUNNING:
        words["status"] = "started"
    elif record.status == SUCCEEDED:
        words.update(status="succeeded", percent_done="100")
    else:  # failed, and dismissed (which WPS 1.0.0 has no word for)
        words["status"] = "failed"
        if record.status != "failed":
            words["message"] = f"{record.status}: {words['message']}"
    return words


def output_blocks(process: dict[str, Any], record: JobRecord) -> list[dict[str, Any]]:
    """The template's `outputs`: files as references, everything else as literals."""
    blocks = []
    for spec in process["outputs"]:
        if spec["name"] not in record.output:
            continue
        value = record.output[spec["name"]]
        block = {"identifier": spec["name"], "title": spec["title"] or spec["name"],
                 "abstract": ""}
        if spec["dataType"] in DESTINATION_KINDS and isinstance(value, str):
            block.update(type="reference", href=value,
                         mimetype=mime_for(value.rsplit(".", 1)[-1]), encoding="", schema="")
        else:
            block.update(type="literal", data=value, uom=None,
                         data_type=LITERAL_DATA_TYPES.get(spec["type"], "string"))
        blocks.append(block)
    return blocks


def service_instance(service_url: str) -> str:
    """An ExecuteResponse's serviceInstance: the service's GetCapabilities URL, not
    escaped (the template escapes what it writes)."""
    parts = urlsplit(service_url)
    query = dict(parse_qsl(parts.query))
    query.update(request="GetCapabilities", service="WPS")
    return urlunsplit(parts._replace(query=urlencode(query)))


def status_document(process: dict[str, Any], record: JobRecord, status_url: str,
                    service_url: str) -> str:
    """The ExecuteResponse a client polling `status_url` gets for this job."""
    status = status_words(record)
    return _execute_template().render(
        language="en-US", service_instance=service_instance(service_url),
        status_location=status_url,
        process={"identifier": process["id"], "title": process["title"],
                 "abstract": process["description"][:2000], "version": process["provider"]},
        status=status,
        outputs=output_blocks(process, record) if status["status"] == "succeeded" else [])


@functools.cache
def _execute_template():
    """PyWPS's ExecuteResponse template, loaded and compiled once per process (clients
    poll status documents often)."""
    from jinja2 import PackageLoader
    from pywps.response import RelEnvironment
    from pywps.translations import get_translation

    env = RelEnvironment(loader=PackageLoader("pywps", "templates"), trim_blocks=True,
                         lstrip_blocks=True, autoescape=True)
    env.globals.update(get_translation=get_translation)
    return env.get_template("1.0.0/execute/main.xml")


def status_location(service: JobService, job_id: str, caller: Caller, wps_url: str) -> str:
    """The document a WPS 1.0.0 Execute's statusLocation answers with, from the job's
    record (JobNotFound for another caller's job, as for an unknown one)."""
    record = service.get(job_id, caller)
    return status_document(service.job_process(record), record,
                           f"{wps_url}/status/{job_id}", wps_url)
