"""Why the job service refuses a request, in its own words: no HTTP status here.

Each API adapter turns these into its own error shape in one place (the CloudGeo JSON
API's envelope, OGC API problems, WPS 1.0.0 ExceptionReports). A bad input is an
InputError (cloudgeo.wpsnode.errors), raised by the input layer below.
"""

from __future__ import annotations

# Seconds a refused caller is told to wait before trying again (Retry-After).
QUEUE_FULL_RETRY_AFTER = 10
CALLER_CAP_RETRY_AFTER = 10


class JobError(Exception):
    """A refusal: `message` for the caller, `field` the part of the request at fault,
    `retry_after` seconds when trying again later may succeed."""

    field: str | None = None
    retry_after: int | None = None

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class RequestRefused(JobError):
    """The execute request itself is malformed (its body, mode, outputs, subscriber)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class JobNotFound(JobError):
    """No such job for this caller: unknown, expired, or another caller's."""

    field = "jobId"

    def __init__(self, job_id: str) -> None:
        super().__init__(f"no job '{job_id}' (unknown, or its results expired)")
        self.job_id = job_id


class QueueFull(JobError):
    """The node's queue holds as many waiting jobs as it may; new work is refused
    rather than letting the queue grow unbounded."""

    def __init__(self, waiting: int, limit: int,
                 retry_after: int = QUEUE_FULL_RETRY_AFTER) -> None:
        super().__init__(f"the job queue is full ({waiting} jobs waiting, limit {limit}); "
                         "try again later")
        self.waiting, self.limit, self.retry_after = waiting, limit, retry_after


class CallerAtCap(JobError):
    """The caller has as many unfinished jobs as one caller may."""

    def __init__(self, cap: int, retry_after: int = CALLER_CAP_RETRY_AFTER) -> None:
        super().__init__(f"you have {cap} jobs queued or running, the most one caller may "
                         "have (CLOUDGEO_WPS_MAX_JOBS_PER_CALLER); try again once one has "
                         "finished")
        self.cap, self.retry_after = cap, retry_after


# -- deployments (OGC API – Processes Part 2: deploy, replace, undeploy) -------------
class AuthenticationRequired(JobError):
    """Deploying is an administrator's act, and the caller is anonymous."""

    field = "authorization"


class NotAnAdministrator(JobError):
    """Deploying is an administrator's act, and the caller is not one."""

    field = "authorization"


class DeploymentRefused(JobError):
    """A model or its package refused: not loadable, calling a withheld algorithm, a bad
    process id, refused by the publication policy."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


class DeploymentTooLarge(DeploymentRefused):
    """A model or a deployment body above what the service takes."""


class ProcessImmutable(DeploymentRefused):
    """The process is the operator's (built in, or from the models folder), not deployed."""

    def __init__(self, message: str) -> None:
        super().__init__(message, "processId")


class ProcessDeployedAlready(DeploymentRefused):
    """A deploy of an id that is deployed already (a replace is a PUT)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, "processDescription.id")


class NoDeployedProcess(DeploymentRefused):
    def __init__(self, identifier: str) -> None:
        super().__init__(f"no deployed process '{identifier}'", "processId")
