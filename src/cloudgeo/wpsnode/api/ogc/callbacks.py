"""The documents posted to a job's subscriber (OGC API – Processes 1.0, `callback`): pure.

inProgressUri and failedUri get the job's status document (statusInfo, as GET
/jobs/{id} answers) as of the change that owed the callback; successUri gets the
results document, as GET /jobs/{id}/results answers in `document` form, the outputs
the execute request chose with every file by reference (a subscriber is sent links,
never files inline). There is no request to take a host from: links point at the
public entry point, the gateway's /api/wps/ogcapi.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from cloudgeo.wpsnode.api.ogc.execution import Delivery
from cloudgeo.wpsnode.api.ogc.results import results_document
from cloudgeo.wpsnode.api.ogc.shapes import status_info
from cloudgeo.wpsnode.jobs.record import SUCCEEDED, JobRecord


def public_base(public_url: str) -> str:
    """The OGC API's base URL behind the gateway (settings.public_url)."""
    return f"{public_url.rstrip('/')}/api/wps/ogcapi"


def as_of(record: JobRecord, snapshot: Mapping[str, Any]) -> JobRecord:
    """The record as the status change wrote it (jobs/callbacks.snapshot), whatever
    happened to the job since."""
    known = {k: v for k, v in snapshot.items() if k in JobRecord.__dataclass_fields__}
    return dataclasses.replace(record, **known)


def by_reference(delivery: Mapping[str, Any] | None) -> Delivery:
    """The execute request's choice of outputs, as a document with files by reference."""
    chosen = Delivery.from_fields(delivery)
    return Delivery(response="document", outputs=dict.fromkeys(chosen.outputs, ""))


def callback_document(record: JobRecord, status: str, snapshot: Mapping[str, Any],
                      base: str) -> dict[str, Any]:
    """What is posted for the job's change to `status`."""
    if status == SUCCEEDED:
        return results_document(record, by_reference(record.delivery), None, 0)
    return status_info(as_of(record, snapshot), base)
