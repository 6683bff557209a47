"""An execute request as the job service takes it, whichever API it came through, and
the CloudGeo JSON API's body parsed into one (its checks naming the field at fault)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cloudgeo.wpsnode.jobs.errors import RequestRefused

MODES = ("sync", "async")


@dataclass(frozen=True)
class ExecuteRequest:
    """One execution of a process: `inputs` and `outputs` in the CloudGeo JSON API's
    words (the OGC API and WPS 1.0.0 adapters translate theirs); `subscriber` as the
    request gave it (the service checks it); `delivery` how the OGC API answers with
    the results (kept in the job's record)."""

    identifier: str
    inputs: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, Any] | None = None
    mode: str = "sync"
    subscriber: Any = None
    delivery: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AdmittedJob:
    """An execute request checked, planned and admitted, not yet queued: what
    JobService.admit hands back and JobService.enqueue takes."""

    request: ExecuteRequest
    plan: dict[str, Any]
    subscriber: dict[str, str]  # checked: the callback URLs, {} for none


def parse_execute(body: Any) -> ExecuteRequest:
    """`POST /jobs`'s JSON body; RequestRefused naming the field at fault."""
    if not isinstance(body, Mapping):
        raise RequestRefused("body", "the body must be a JSON object with 'identifier' "
                                     "and 'inputs'")
    identifier = body.get("identifier")
    if not isinstance(identifier, str) or not identifier:
        raise RequestRefused("identifier", "'identifier' is required: the id of a process, "
                                           "e.g. 'native:buffer'")
    mode = body.get("mode", "sync")
    if mode not in MODES:
        raise RequestRefused("mode", f"'mode' must be 'sync' or 'async', not {mode!r}")
    inputs = body.get("inputs", {})
    if not isinstance(inputs, dict):
        raise RequestRefused("inputs", "'inputs' must be an object of input names to values")
    outputs = body.get("outputs")
    if outputs is not None and not isinstance(outputs, dict):
        raise RequestRefused("outputs", "'outputs' must be an object of output names to "
                                        '{"format": ...}')
    # OGC API's callbacks, asked for the same way: the same documents are posted.
    return ExecuteRequest(identifier, inputs, outputs, mode, body.get("subscriber"))
