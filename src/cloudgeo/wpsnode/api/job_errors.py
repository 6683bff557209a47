"""The HTTP status of each job service refusal, shared by the adapters that answer over
plain HTTP (the CloudGeo JSON API, the OGC API); each writes its own shape around it."""

from __future__ import annotations

from cloudgeo.wpsnode.jobs.errors import (
    AuthenticationRequired,
    CallerAtCap,
    DeploymentRefused,
    DeploymentTooLarge,
    JobError,
    JobNotFound,
    NoDeployedProcess,
    NotAnAdministrator,
    ProcessDeployedAlready,
    ProcessImmutable,
    QueueFull,
    RequestRefused,
)

# The first class a refusal is an instance of gives its status: subclasses first.
STATUS: dict[type[JobError], int] = {
    RequestRefused: 400, JobNotFound: 404, CallerAtCap: 429, QueueFull: 503,
    AuthenticationRequired: 401, NotAnAdministrator: 403, DeploymentTooLarge: 413,
    ProcessImmutable: 403, ProcessDeployedAlready: 409, NoDeployedProcess: 404,
    DeploymentRefused: 400}


def http_status(error: JobError) -> int:
    return next(status for kind, status in STATUS.items() if isinstance(error, kind))


def http_headers(error: JobError) -> dict[str, str]:
    """Retry-After where trying again later may succeed."""
    return {"Retry-After": str(error.retry_after)} if error.retry_after is not None else {}
