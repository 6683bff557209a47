"""Job records and the seed's response shapes for them: pure.

Status words are WPS 2.0's: accepted, running, succeeded, failed, dismissed.
Times are UTC, written as the seed writes them ("2024-12-03 19:03:57.201").
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

ACCEPTED, RUNNING, SUCCEEDED, FAILED, DISMISSED = (
    "accepted", "running", "succeeded", "failed", "dismissed")
FINISHED = {SUCCEEDED, FAILED, DISMISSED}

# Why a job failed; the HTTP status a sync caller gets for it.
# "limit": the job passed one of its caps (scratch disk, output size).
FAILURE_STATUS = {"input": 400, "execution": 422, "limit": 422, "timeout": 504,
                  "crashed": 500, "internal": 500}


def seed_time(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


@dataclass
class JobRecord:
    jobId: str
    identifier: str
    mode: str
    status: str
    created: float
    plan: dict[str, Any]
    inputs: dict[str, Any] = field(default_factory=dict)
    node: str = ""  # the node whose QGIS worker runs (or ran) it
    worker: str = ""  # node/pid of the QGIS worker running it
    submittedTo: str = ""  # the node that accepted the request
    queuedOn: str = ""  # the node whose Celery consumer holds the queued message
    queue: str = ""  # the Celery queue it was sent to; a rescue sends it there again
    started: float | None = None
    finished: float | None = None
    expires: float | None = None
    deadline: float | None = None
    timeLimit: float = 0
    percentCompleted: int = 0
    message: str = ""
    failure: str | None = None  # a FAILURE_STATUS key when status is failed
    failureField: str | None = None  # the input at fault, for input failures
    output: dict[str, Any] = field(default_factory=dict)
    attempts: int = 0
    owner: str | None = None  # the authenticated caller who submitted it
    delivery: dict[str, Any] = field(default_factory=dict)  # OGC API: how results go back
    # OGC API callbacks: successUri, inProgressUri, failedUri (those the caller named)
    subscriber: dict[str, str] = field(default_factory=dict)

    def to_fields(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_fields(cls, data: dict[str, Any]) -> JobRecord:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)

    def result_block(self) -> dict[str, Any]:
        """The seed's result: completionTime ... output."""
        return {
            "completionTime": seed_time(self.finished),
            "expirationTime": seed_time(self.expires),
            "percentCompleted": str(self.percentCompleted),
            "message": self.message,
            "output": self.output,
        }

    def sync_response(self) -> dict[str, Any]:
        """`data` of a sync POST /jobs (seed section 3); names the input at fault, if any."""
        data = {"jobId": self.jobId, "status": self.status, **self.result_block()}
        if self.failureField:
            data["field"] = self.failureField
        return data

    def status_response(self) -> dict[str, Any]:
        """`data` of GET /jobs/{id} (seed section 4), with live progress while running."""
        return {
            "JobId": self.jobId,
            "status": self.status,
            "identifier": self.identifier,
            "percentCompleted": str(self.percentCompleted),
            "message": self.message,
            "result": self.result_block() if self.status in FINISHED else None,
        }
