"""The job service: creates, admits, queues, waits for and dismisses jobs; what
every HTTP adapter (seed JSON, WPS 1.0.0, OGC API) calls."""

from __future__ import annotations

import dataclasses
import time
import uuid
from typing import Any

from cloudgeo.common.envelope import ApiError
from cloudgeo.wpsnode.builtin import BuiltinProcess, check_inputs
from cloudgeo.wpsnode.caller import CURRENT
from cloudgeo.wpsnode.catalog.store import Catalog
from cloudgeo.wpsnode.errors import InputError
from cloudgeo.wpsnode.inputs.href_guard import HrefPolicy, href_problem
from cloudgeo.wpsnode.inputs.pinned import HrefRefused, resolve_checked
from cloudgeo.wpsnode.inputs.planning import plan_inputs
from cloudgeo.wpsnode.jobs.deadline import DEADLINE_GRACE
from cloudgeo.wpsnode.jobs.joblist import JobQuery
from cloudgeo.wpsnode.jobs.models import LiveCatalog, job_model
from cloudgeo.wpsnode.jobs.outputs import remove_outputs
from cloudgeo.wpsnode.jobs.ports import CallerPlaces, JobQueue, JobRecords, ObjectSink, Rescuer
from cloudgeo.wpsnode.jobs.record import ACCEPTED, DISMISSED, FINISHED, RUNNING, JobRecord
from cloudgeo.wpsnode.jobs.subscriber import parse_subscriber
from cloudgeo.wpsnode.settings import WpsSettings

WATCH_INTERVAL = 3  # seconds between a sync waiter's checks that the job's node lives
QUEUE_FULL_RETRY_AFTER = 10
CALLER_CAP_RETRY_AFTER = 10


class JobService:
    """Creates, queues and reads jobs; shared by the seed API and the WPS 1.0.0 adapter."""

    def __init__(self, settings: WpsSettings, catalog: Catalog | LiveCatalog, *,
                 jobs: JobRecords, queue: JobQueue, objects: ObjectSink,
                 quota: CallerPlaces, watchdog: Rescuer) -> None:
        """The I/O comes in as ports (jobs/ports.py), built by the node's app factory."""
        self.settings = settings
        # Models and scripts come and go while the node runs (jobs/models.py).
        self.catalogs = catalog if isinstance(catalog, LiveCatalog) else None
        self._catalog = catalog
        self.jobs, self.queue, self.objects = jobs, queue, objects
        self.quota, self.watchdog = quota, watchdog
        self.policy = HrefPolicy.from_urls(settings.allowed_hosts)
        self.callback_policy = HrefPolicy.from_urls(settings.callback_hosts)

    @property
    def catalog(self) -> Catalog:
        """The published processes as they are now (models and scripts included)."""
        return self.catalogs.current() if self.catalogs is not None else self._catalog

    def get(self, job_id: str) -> JobRecord | None:
        """The job's record as stored: a read changes nothing (the sweeper rescues jobs
        a dead node left and fails those past their deadline)."""
        return self.jobs.get(job_id)

    def check_href(self, name: str, href: str) -> None:
        problem = href_problem(href, self.policy)
        if problem:
            raise InputError(name, problem)

    def admit(self) -> None:
        """Refuses new work while the queue is full, rather than letting it grow unbounded."""
        waiting = self.queue.waiting()
        if waiting >= self.settings.max_queued:
            raise ApiError(503, f"the job queue is full ({waiting} jobs waiting, limit "
                                f"{self.settings.max_queued}); try again later",
                           headers={"Retry-After": str(QUEUE_FULL_RETRY_AFTER)})

    def admit_caller(self) -> None:
        """Refuses a caller at their cap before anything else is done for the request
        (WPS 1.0.0 checks before PyWPS takes the request; the place itself is taken, or
        refused, atomically when the job is queued)."""
        if self.quota.unfinished(CURRENT.get().quota_key) >= self.settings.max_jobs_per_caller:
            raise self._over_caller_cap()

    def _over_caller_cap(self) -> ApiError:
        cap = self.settings.max_jobs_per_caller
        return ApiError(429, f"you have {cap} jobs queued or running, the most one caller "
                             "may have (CLOUDGEO_WPS_MAX_JOBS_PER_CALLER); try again once "
                             "one has finished",
                        headers={"Retry-After": str(CALLER_CAP_RETRY_AFTER)})

    def check_subscriber(self, value: Any) -> dict[str, str]:
        """The subscriber an execute request names ({} for none), every URL through the
        guard and its host's addresses checked now (and again at each delivery); a 400
        naming the field at fault."""
        subscriber = parse_subscriber(value, self.callback_policy)
        for key, url in subscriber.items():
            try:
                resolve_checked(url, self.callback_policy)
            except HrefRefused as exc:
                raise ApiError(400, f"'subscriber.{key}': {exc}",
                               field=f"subscriber.{key}") from None
        return subscriber

    def submit(self, identifier: str, inputs, outputs=None, mode: str = "sync",
               delivery: dict | None = None, subscriber: Any = None) -> JobRecord:
        """`subscriber`: the request's, unchecked (OGC API callbacks)."""
        process = self.catalog.get(identifier)
        callbacks = self.check_subscriber(subscriber)
        plan = plan_inputs(process, inputs, outputs, self.check_href)
        stored = self.catalogs.definition(identifier) if self.catalogs is not None else None
        if stored is not None:  # the job carries the model it was checked against
            plan["model"] = {**job_model(stored), "process": process}
        return self._queue(identifier, plan, inputs, mode, delivery, callbacks)

    def submit_builtin(self, process: BuiltinProcess, inputs: dict, mode: str = "sync",
                       delivery: dict | None = None, subscriber: Any = None) -> JobRecord:
        """A job of a plain-Python process (cloudgeo.wpsnode.builtin), its inputs checked
        against its description first."""
        callbacks = self.check_subscriber(subscriber)
        plan = {"literals": check_inputs(process, inputs), "references": {},
                "destinations": {}, "builtin": True}
        return self._queue(process.id, plan, inputs, mode, delivery, callbacks)

    def _queue(self, identifier: str, plan: dict, inputs, mode: str,
               delivery: dict | None, subscriber: dict[str, str]) -> JobRecord:
        self.admit()
        record = JobRecord(jobId=uuid.uuid4().hex, identifier=identifier, mode=mode,
                           status=ACCEPTED, created=time.time(), plan=plan,
                           inputs=inputs or {}, submittedTo=self.settings.node_id,
                           timeLimit=self.settings.job_time_limit, message="queued",
                           queue=self.settings.queue,
                           owner=CURRENT.get().user, delivery=delivery or {},
                           subscriber=subscriber)
        # The place is taken atomically (the check in admit() may race another node).
        if not self.quota.take(CURRENT.get().quota_key, record.jobId):
            raise self._over_caller_cap()
        self.jobs.create(record)
        self.queue.submit(record)
        return record

    def job_process(self, record: JobRecord) -> dict[str, Any]:
        """The description a job ran under (a model's as it was, even once replaced or
        undeployed)."""
        model = (record.plan or {}).get("model")
        if model and "process" in model:
            return model["process"]
        return self.catalog.get(record.identifier)

    def visible(self, job_id: str) -> JobRecord | None:
        """The job's record if the caller may see it: another caller's job is unknown."""
        record = self.get(job_id)
        return record if record is not None and CURRENT.get().may_see(record.owner) else None

    def job_list_open(self) -> bool:
        """Without authentication, every job is everyone's: listed only when made public."""
        return self.settings.authenticated or self.settings.job_list == "public"

    def list_jobs(self, query: JobQuery) -> list[JobRecord]:
        """A page of the job list, as far as the caller may see (their own jobs, unless
        an admin or the service runs without authentication)."""
        caller = CURRENT.get()
        owner = None if caller.user is None or caller.admin else caller.user
        return self.jobs.find(dataclasses.replace(query, owner=owner))

    def require(self, job_id: str) -> JobRecord:
        """The caller's job's record, or a 404 naming the job."""
        record = self.visible(job_id)
        if record is None:
            raise ApiError(404, f"no job '{job_id}' (unknown, or its results expired)",
                           field="jobId")
        return record

    def job_log(self, job_id: str) -> str:
        """The caller's job's log: QGIS's messages, one per line (every attempt's)."""
        self.require(job_id)
        return "".join(f"{line}\n" for line in self.jobs.log(job_id))

    def dismiss(self, job_id: str) -> JobRecord | None:
        """Cancels a queued or running job (its worker is stopped and replaced); a
        finished job's record and output files are removed."""
        record = self.jobs.get(job_id)
        if record is None:
            return None
        # A job past its deadline is over: dismissing it removes it, as a finished one.
        record = self.jobs.fail_overdue(record)
        if record.status in FINISHED:
            self.jobs.remove(job_id)
            remove_outputs(self.objects, record.output)
            record.status = DISMISSED
            return record
        was_running = record.status == RUNNING
        self.jobs.finish(job_id, status=DISMISSED, message="dismissed by request")
        if was_running:
            self.queue.stop_running(job_id)
        return self.jobs.get(job_id)

    def wait(self, record: JobRecord) -> JobRecord:
        """Blocks until the job ends (or its time limit and grace pass)."""
        deadline = time.monotonic() + record.timeLimit + DEADLINE_GRACE + 15
        current = record
        while time.monotonic() < deadline:
            current = self.jobs.wait(record.jobId, min(WATCH_INTERVAL,
                                                       deadline - time.monotonic())) or current
            if current.status in FINISHED:
                break
            # The sync waiter acts as the sweeper does for its own job (the answer is
            # owed now): it fails it past its deadline, rescues it if its node died.
            current = self.watchdog.check(self.jobs.fail_overdue(current))
        return current
