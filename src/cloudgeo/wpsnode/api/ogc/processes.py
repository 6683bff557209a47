"""The OGC API's process resources without a web framework: the conformance classes, a
page of the process list, a process description, and Part 2's deploy, replace and
undeploy (models; administrators only). Each returns documents or raises; the Flask
routes (api.py) choose JSON or an HTML page and write the problems."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple
from urllib.parse import quote

from cloudgeo.common.envelope import ApiError
from cloudgeo.wpsnode.api.ogc import deploy, shapes
from cloudgeo.wpsnode.api.ogc.context import OgcApi
from cloudgeo.wpsnode.caller import Caller
from cloudgeo.wpsnode.jobs.errors import DeploymentTooLarge
from cloudgeo.wpsnode.jobs.models import admin_only

# Room beside the model in a deployment's body: a package escapes the XML into JSON.
BODY_OVERHEAD = 65536


def conformance_classes(api: OgcApi) -> list[str]:
    classes = shapes.conformance(api.service.job_list_open(),
                                 api.service.settings.callbacks_offered)
    if api.deployments_offered:
        classes += deploy.CONFORMANCE
    return classes


def process_list(listed: list[dict[str, Any]], q: str, limit: int, start: int,
                 base: str) -> dict[str, Any]:
    """The processes found by `q`, `limit` of them from `start`, with self, next and
    prev links that keep the search."""
    every = [p for p in listed if shapes.matches(p, q)]
    shown = every[start:start + limit]
    search = f"&q={quote(q)}" if q else ""
    links = [shapes.link(f"{base}/processes?limit={limit}&offset={start}{search}", "self")]
    if start + limit < len(every):
        links.append(shapes.link(
            f"{base}/processes?limit={limit}&offset={start + limit}{search}", "next"))
    if start:
        links.append(shapes.link(
            f"{base}/processes?limit={limit}&offset={max(0, start - limit)}{search}",
            "prev"))
    return {"processes": [shapes.process_summary(p, base) for p in shown],
            "numberMatched": len(every), "links": links}


def description(api: OgcApi, process_id: str, base: str) -> tuple[dict[str, Any],
                                                                 dict[str, Any]]:
    """(the process's OGC description, its catalogue entry: the HTML form's fields)."""
    if process_id.endswith("/execution"):
        raise ApiError(405, "execution takes POST", field="method")
    process, builtin = api.lookup(process_id), api.builtins.get(process_id)
    described = (shapes.builtin_description(builtin, base) if builtin else
                 shapes.process_description(process, base))
    return described, process


class ModelUpload(NamedTuple):
    """A Part 2 request's body as the route hands it over. `read` is called only once
    the caller is known to be an administrator: reading (Werkzeug's request.stream) is
    where a body above the node's request limit is refused with 413, and a non-admin
    gets 401/403 whatever the size."""

    content_type: str
    content_length: int | None
    read: Callable[[int], bytes]


def model_body(upload: ModelUpload, max_model_size: int) -> tuple[str | None, str]:
    """(the name the package gives, or None; the .model3 text), reading at most one
    byte past the limit: a body that says it is small and is not is refused too."""
    limit = 2 * max_model_size + BODY_OVERHEAD
    too_large = DeploymentTooLarge(f"the body is above the {limit} bytes a deployment "
                                   "takes (CLOUDGEO_WPS_MAX_MODEL_SIZE)", "body")
    if (upload.content_length or 0) > limit:
        raise too_large
    body = upload.read(limit + 1)
    if len(body) > limit:
        raise too_large
    return deploy.parse_body(upload.content_type, body)


def deploy_process(api: OgcApi, caller: Caller, upload: ModelUpload,
                   base: str) -> tuple[dict[str, Any], str]:
    """(the deployed process's summary, its URL)."""
    admin_only(caller)
    name, content = model_body(upload, api.service.settings.max_model_size)
    identifier = api.deployments.deploy(name, content, caller.user)
    return (shapes.process_summary(api.service.catalog.get(identifier), base),
            f"{base}/processes/{identifier}")


def replace_process(api: OgcApi, caller: Caller, process_id: str,
                    upload: ModelUpload) -> None:
    admin_only(caller)
    name, content = model_body(upload, api.service.settings.max_model_size)
    api.deployments.replace(process_id, name, content, caller.user)


def undeploy_process(api: OgcApi, caller: Caller, process_id: str) -> None:
    admin_only(caller)
    api.deployments.undeploy(process_id)
