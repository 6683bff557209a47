"""The job service: creates, admits, queues, waits for and dismisses jobs; what
every HTTP adapter (seed JSON, WPS 1.0.0, OGC API) calls. Framework-free: it takes
typed requests (jobs/execute.py) and the caller, and refuses with domain errors
(jobs/errors.py), which each adapter turns into its own error shape."""

from __future__ import annotations

import dataclasses
import time
import uuid
from typing import Any

from cloudgeo.wpsnode.builtin import BuiltinProcess, check_inputs
from cloudgeo.wpsnode.caller import Caller
from cloudgeo.wpsnode.catalog.store import Catalog
from cloudgeo.wpsnode.errors import InputError
from cloudgeo.wpsnode.inputs.href_guard import HrefPolicy, href_problem
from cloudgeo.wpsnode.inputs.pinned import HrefRefused, resolve_checked
from cloudgeo.wpsnode.inputs.planning import plan_inputs
from cloudgeo.wpsnode.jobs.deadline import DEADLINE_GRACE
from cloudgeo.wpsnode.jobs.errors import CallerAtCap, JobNotFound, QueueFull, RequestRefused
from cloudgeo.wpsnode.jobs.execute import AdmittedJob, ExecuteRequest
from cloudgeo.wpsnode.jobs.joblist import JobQuery
from cloudgeo.wpsnode.jobs.models import LiveCatalog, job_model
from cloudgeo.wpsnode.jobs.outputs import remove_outputs
from cloudgeo.wpsnode.jobs.ports import CallerPlaces, JobQueue, JobRecords, ObjectSink, Rescuer
from cloudgeo.wpsnode.jobs.record import ACCEPTED, DISMISSED, FINISHED, RUNNING, JobRecord
from cloudgeo.wpsnode.jobs.subscriber import parse_subscriber
from cloudgeo.wpsnode.settings import WpsSettings

WATCH_INTERVAL = 3  # seconds between a sync waiter's checks that the job's node lives


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

    def visible(self, job_id: str, caller: Caller) -> JobRecord | None:
        """The job's record as stored if `caller` may see it (another caller's job is
        unknown); a read changes nothing (the sweeper rescues jobs a dead node left and
        fails those past their deadline)."""
        record = self.jobs.get(job_id)
        return record if record is not None and caller.may_see(record.owner) else None

    def get(self, job_id: str, caller: Caller) -> JobRecord:
        """The caller's job's record; JobNotFound for an unknown or another's job."""
        record = self.visible(job_id, caller)
        if record is None:
            raise JobNotFound(job_id)
        return record

    def check_href(self, name: str, href: str) -> None:
        problem = href_problem(href, self.policy)
        if problem:
            raise InputError(name, problem)

    def _admit_queue(self) -> None:
        """Refuses new work while the queue is full, rather than letting it grow unbounded."""
        waiting = self.queue.waiting()
        if waiting >= self.settings.max_queued:
            raise QueueFull(waiting, self.settings.max_queued)

    def _admit_caller(self, caller: Caller) -> None:
        """Refuses a caller at their cap before anything else is done for the request
        (the place itself is taken, or refused, atomically when the job is queued)."""
        if self.quota.unfinished(caller.quota_key) >= self.settings.max_jobs_per_caller:
            raise CallerAtCap(self.settings.max_jobs_per_caller)

    def check_subscriber(self, value: Any) -> dict[str, str]:
        """The subscriber an execute request names ({} for none), every URL through the
        guard and its host's addresses checked now (and again at each delivery);
        RequestRefused naming the field at fault."""
        subscriber = parse_subscriber(value, self.callback_policy)
        for key, url in subscriber.items():
            try:
                resolve_checked(url, self.callback_policy)
            except HrefRefused as exc:
                raise RequestRefused(f"subscriber.{key}", f"'subscriber.{key}': {exc}") \
                    from None
        return subscriber

    def submit(self, request: ExecuteRequest, caller: Caller) -> JobRecord:
        """Checks, plans, admits and queues one execution of a catalogue process."""
        return self.enqueue(self._planned(request), caller)

    def submit_builtin(self, process: BuiltinProcess, request: ExecuteRequest,
                       caller: Caller) -> JobRecord:
        """As submit, for a plain-Python process (cloudgeo.wpsnode.builtin), its inputs
        checked against its description."""
        callbacks = self.check_subscriber(request.subscriber)
        plan = {"literals": check_inputs(process, request.inputs), "references": {},
                "destinations": {}, "builtin": True}
        self._admit_queue()
        return self.enqueue(AdmittedJob(request, plan, callbacks), caller)

    def admit(self, request: ExecuteRequest, caller: Caller) -> AdmittedJob:
        """What submit does short of queueing, and the caller's cap checked too: WPS
        1.0.0 refuses a request before PyWPS takes it, and queues the admitted job once
        PyWPS has parsed it (enqueue), without planning or admitting it again."""
        admitted = self._planned(request)
        self._admit_caller(caller)
        return admitted

    def _planned(self, request: ExecuteRequest) -> AdmittedJob:
        """The request checked and planned, and the queue's room for it."""
        process = self.catalog.get(request.identifier)
        callbacks = self.check_subscriber(request.subscriber)
        plan = plan_inputs(process, request.inputs, request.outputs, self.check_href)
        stored = self.catalogs.definition(request.identifier) \
            if self.catalogs is not None else None
        if stored is not None:  # the job carries the model it was checked against
            plan["model"] = {**job_model(stored), "process": process}
        self._admit_queue()
        return AdmittedJob(request, plan, callbacks)

    def enqueue(self, admitted: AdmittedJob, caller: Caller) -> JobRecord:
        """Queues an admitted job: the caller's place is taken atomically (admission
        read the count, and may race another node), then the record and the task."""
        request = admitted.request
        record = JobRecord(jobId=uuid.uuid4().hex, identifier=request.identifier,
                           mode=request.mode, status=ACCEPTED, created=time.time(),
                           plan=admitted.plan, inputs=request.inputs or {},
                           submittedTo=self.settings.node_id,
                           timeLimit=self.settings.job_time_limit, message="queued",
                           queue=self.settings.queue, owner=caller.user,
                           delivery=request.delivery or {}, subscriber=admitted.subscriber)
        if not self.quota.take(caller.quota_key, record.jobId):
            raise CallerAtCap(self.settings.max_jobs_per_caller)
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

    def job_list_open(self) -> bool:
        """Without authentication, every job is everyone's: listed only when made public."""
        return self.settings.authenticated or self.settings.job_list == "public"

    def list_jobs(self, query: JobQuery, caller: Caller) -> list[JobRecord]:
        """A page of the job list, as far as the caller may see (their own jobs, unless
        an admin or the service runs without authentication)."""
        owner = None if caller.user is None or caller.admin else caller.user
        return self.jobs.find(dataclasses.replace(query, owner=owner))

    def job_log(self, job_id: str, caller: Caller) -> str:
        """The caller's job's log: QGIS's messages, one per line (every attempt's)."""
        self.get(job_id, caller)
        return "".join(f"{line}\n" for line in self.jobs.log(job_id))

    def dismiss(self, job_id: str, caller: Caller) -> JobRecord:
        """Cancels the caller's queued or running job (its worker is stopped and
        replaced); a finished job's record and output files are removed. JobNotFound
        for an unknown or another caller's job, or one gone meanwhile."""
        record = self.jobs.fail_overdue(self.get(job_id, caller))
        # A job past its deadline is over: dismissing it removes it, as a finished one.
        if record.status in FINISHED:
            self.jobs.remove(job_id)
            remove_outputs(self.objects, record.output)
            record.status = DISMISSED
            return record
        was_running = record.status == RUNNING
        self.jobs.finish(job_id, status=DISMISSED, message="dismissed by request")
        if was_running:
            self.queue.stop_running(job_id)
        return self.get(job_id, caller)

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
