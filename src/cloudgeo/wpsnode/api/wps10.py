"""WPS 1.0.0 through PyWPS at /wps: every catalogue process as a PyWPS Process.

PyWPS parses and answers the OGC XML (GetCapabilities, DescribeProcess, Execute
by KVP and XML); each Execute is handed to the same JobService as the JSON API,
so it runs on the same QGIS workers and returns the same object-storage links.
Inputs by reference are passed on as hrefs (the workers fetch them through the
inputs guard, PyWPS never does); inline inputs are stored first and passed as links.

RawDataOutput answers with the one output named, itself (wps10_outputs): a stored file
streamed from S3 with its media type, a literal as text.

Asynchronous Execute (storeExecuteResponse=true&status=true) queues the job like
`POST /jobs` in async mode and answers at once; its statusLocation is served by
every node from the job's record (wps10_status), not from PyWPS's local files.
"""

from __future__ import annotations

import dataclasses
import json
import tempfile
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

from cloudgeo.storage.files import stored_file_metadata
from cloudgeo.storage.names import new_id
from cloudgeo.storage.objectstore import ObjectStore
from cloudgeo.wpsnode.api.formats import FORMAT_BY_MIME, INPUT_MIMES, format_for, mime_for
from cloudgeo.wpsnode.api.wps10_outputs import raw_output, raw_response, requested_outputs
from cloudgeo.wpsnode.api.wps10_status import LITERAL_DATA_TYPES, service_instance
from cloudgeo.wpsnode.caller import CURRENT
from cloudgeo.wpsnode.catalog.kinds import DESTINATION_KINDS, REFERENCE_KINDS, UNSUPPORTED
from cloudgeo.wpsnode.errors import InputError
from cloudgeo.wpsnode.jobs.errors import CallerAtCap, JobError, JobNotFound, QueueFull
from cloudgeo.wpsnode.jobs.execute import AdmittedJob, ExecuteRequest
from cloudgeo.wpsnode.jobs.record import SUCCEEDED, JobRecord

MAX_OCCURS = 100
# The attribute of a sync ExecuteResponse holding its succeeded job's record.
FINISHED_JOB = "cloudgeo_finished_job"
# The attribute of a PyWPS request holding the job admitted for it, until it is queued.
ADMITTED_JOB = "cloudgeo_admitted_job"


def configure_pywps(public_wps_url: str, workdir: Path) -> None:
    from pywps import configuration

    workdir.mkdir(parents=True, exist_ok=True)
    configuration.load_configuration([])
    values = {
        ("server", "url"): public_wps_url,
        ("server", "outputurl"): public_wps_url,
        ("server", "workdir"): str(workdir),
        ("server", "outputpath"): str(workdir),
        ("server", "maxsingleinputsize"): "1gb",
        ("server", "maxrequestsize"): "1gb",
        ("server", "parallelprocesses"): "-1",
        ("logging", "level"): "WARNING",
        ("logging", "database"): "sqlite:///:memory:",
        ("metadata:main", "identification_title"): "CloudGeo WPS",
        ("metadata:main", "identification_abstract"):
            "Every QGIS processing algorithm as an OGC Web Processing Service",
        ("metadata:main", "provider_name"): "CloudGeo",
    }
    for (section, option), value in values.items():
        if not configuration.CONFIG.has_section(section):
            configuration.CONFIG.add_section(section)
        configuration.CONFIG.set(section, option, value)
    drop_request_log()
    share_template_environment()
    build_execute_documents_when_read()
    escape_service_instance_once()


def escape_service_instance_once() -> None:
    """PyWPS writes serviceInstance with `&` already escaped, and its template, which
    escapes everything it writes, escapes that again: clients read `&amp;` inside the
    URL. It is handed to the template as the plain URL (the status documents' too)."""
    from pywps.response.execute import ExecuteResponse

    def plain_url(self) -> str:
        from pywps import configuration

        return service_instance(configuration.get_config_value("server", "url"))

    ExecuteResponse._get_serviceinstance = plain_url


def share_template_environment() -> None:
    """PyWPS builds a new Jinja environment for every response object, so it compiles
    its XML templates again on every request and every status update: under load that
    was nearly half of a WPS node's HTTP CPU (py-spy). Every response asks for the same
    options, and a Jinja environment is safe to share between threads once set up, so
    one is built on first use and handed to every response after."""
    from pywps.response import basic

    if getattr(basic.RelEnvironment, "shared", False):
        return
    build, lock, built = basic.RelEnvironment, threading.Lock(), []

    def shared_environment(**options):
        with lock:
            if not built:
                built.append(build(**options))
        return built[0]

    shared_environment.shared = True
    basic.RelEnvironment = shared_environment


def build_execute_documents_when_read() -> None:
    """PyWPS renders the whole ExecuteResponse document on every status change (accepted,
    started, our final update, succeeded: four renders for a sync Execute) and serves
    only the last; status files are never written here (JobStatusStore). So a status
    change only marks the document stale, and reading it renders it once, from the
    status at that moment, which is what the last eager render held."""
    from pywps.exceptions import NoApplicableCode
    from pywps.response.execute import ExecuteResponse

    if isinstance(ExecuteResponse.__dict__.get("doc"), property):
        return

    def read(self):
        if self.__dict__.get("_doc_stale"):
            self._doc_stale = False
            try:
                self._doc, self.content_type = self._construct_doc()
            except Exception as exc:
                raise NoApplicableCode(f"Building Response Document failed with : {exc}") \
                    from None
        return self.__dict__.get("_doc")

    def write(self, value) -> None:
        self._doc, self._doc_stale = value, False

    def mark_stale(self) -> None:
        self._doc_stale = True

    ExecuteResponse.doc = property(read, write)
    ExecuteResponse._update_status_doc = mark_stale


def drop_request_log() -> None:
    """PyWPS logs every request and status change into SQLite. For `sqlite:///:memory:`
    it opens ONE connection (StaticPool) that every thread of the process shares, so
    concurrent requests interleaved their transactions ("cannot start a transaction
    within a transaction") and some failed; it even segfaulted the process. Nothing
    reads that log here: job state lives in Redis, async requests go through our queue
    (never PyWPS's stored-request queue), and with parallelprocesses = -1 its counts
    decide nothing. So its writes do nothing and its reads answer "none running, none
    stored": no state shared between threads, and no SQL on the request path."""
    import importlib

    from pywps import dblog
    from pywps.response import basic

    # The module (pywps.app's `Service` attribute is the class of that name).
    service_module = importlib.import_module("pywps.app.Service")

    def nothing(*args, **kwargs) -> None:
        return None

    replacements = {"log_request": nothing, "store_status": nothing, "update_pid": nothing,
                    "store_process": nothing, "cleanup_crashed_process": nothing,
                    "pop_first_stored": nothing, "get_process_counts": lambda: (0, 0)}
    for module in (dblog, service_module, basic):
        for name, replacement in replacements.items():
            if hasattr(module, name):
                setattr(module, name, replacement)


def _abstract(spec: dict[str, Any]) -> str:
    parts = [spec.get("help", "")]
    if spec.get("options"):
        parts.append("Options (index or name): " + ", ".join(
            f"{i}={o}" for i, o in enumerate(spec["options"])))
    if spec.get("default") is not None:
        parts.append(f"Default: {spec['default']}")
    return " ".join(p for p in parts if p)


def wps_inputs(process: dict[str, Any]) -> list:
    from pywps import ComplexInput, Format, LiteralInput
    from pywps.validator.mode import MODE

    inputs = []
    for spec in process["inputs"]:
        kind = spec["dataType"]
        if kind == UNSUPPORTED:
            continue
        min_occurs = 0 if spec["optional"] or spec.get("default") is not None else 1
        multiple = MAX_OCCURS if spec.get("allowMultiple") else 1
        common = {"identifier": spec["name"], "title": spec["title"] or spec["name"],
                  "abstract": _abstract(spec), "min_occurs": min_occurs,
                  "max_occurs": multiple, "mode": MODE.NONE}
        if kind in REFERENCE_KINDS:
            formats = [Format(m) for m in INPUT_MIMES[kind]]
            inputs.append(ComplexInput(supported_formats=formats, **common))
            continue
        data_type = {"number": "integer" if spec.get("integer") else "float",
                     "boolean": "boolean"}.get(kind, "string")
        inputs.append(LiteralInput(data_type=data_type, **common))
    return inputs


def wps_outputs(process: dict[str, Any]) -> list:
    from pywps import ComplexOutput, Format, LiteralOutput

    outputs = []
    for out in process["outputs"]:
        title = out["title"] or out["name"]
        if out["dataType"] in DESTINATION_KINDS:
            formats = [Format(mime_for(f)) for f in out["formats"]]
            outputs.append(ComplexOutput(out["name"], title, supported_formats=formats,
                                         as_reference=True))
        else:
            outputs.append(LiteralOutput(out["name"], title,
                                         data_type=LITERAL_DATA_TYPES.get(out["type"], "string")))
    return outputs


def raw_inputs(process: dict[str, Any], raw: dict[str, list[dict]],
               inline_placeholder: str) -> dict[str, Any]:
    """A parsed-but-unprocessed PyWPS request's inputs as seed inputs, for checking.

    Inline complex values are stood in for by a link to our own storage: they are
    stored (and so can be checked) only once the request is accepted.
    """
    specs = {s["name"]: s for s in process["inputs"]}
    inputs: dict[str, Any] = {}
    for name, items in raw.items():
        spec = specs.get(name)
        if spec is None:
            inputs[name] = None  # unknown: plan_inputs names it
            continue
        values = []
        for item in items:
            if spec["dataType"] in REFERENCE_KINDS:
                values.append({"type": "reference",
                               "href": item.get("href") or inline_placeholder})
            elif spec["dataType"] in ("json", "matrix"):
                try:
                    values.append(json.loads(item.get("data", "null")))
                except ValueError:
                    raise InputError(name, "must be JSON text") from None
            else:
                values.append(item.get("data"))
        inputs[name] = values if spec.get("allowMultiple") else values[0]
    return inputs


def wps_exception(error: JobError):
    """A job service refusal as WPS 1.0.0 says it, in one place: ServerBusy (503) for a
    full queue, NoApplicableCode with 429 for a caller past their cap (both with
    Retry-After), NoApplicableCode 404 for an unknown job, else InvalidParameterValue
    naming the field."""
    from pywps.exceptions import InvalidParameterValue, NoApplicableCode, ServerBusy

    if isinstance(error, JobNotFound):
        return NoApplicableCode(error.message, locator="jobId", code=404)
    if not isinstance(error, QueueFull | CallerAtCap):
        return InvalidParameterValue(error.message, error.field or "")
    base, status = (ServerBusy, 503) if isinstance(error, QueueFull) else (NoApplicableCode, 429)
    headers = {"Retry-After": str(error.retry_after)}

    class Refusal(base):
        @property
        def name(self) -> str:  # the exceptionCode PyWPS writes
            return base.__name__

        def get_response(self, environ=None):
            response = super().get_response(environ)
            response.headers.update(headers)
            return response

    return Refusal(error.message, code=status)


def with_references(plan: dict[str, Any], inputs: dict[str, Any]) -> dict[str, Any]:
    """The plan made before PyWPS parsed the request, its layers' links taken from the
    parsed inputs (an inline value's stored file in place of the placeholder)."""
    references = {}
    for name, reference in plan["references"].items():
        given = inputs[name] if isinstance(inputs[name], list) else [inputs[name]]
        references[name] = {**reference, "items": [{"href": item["href"]} for item in given]}
    return {**plan, "references": references}


def service_class():
    """PyWPS's Service, checking a request's inputs before it is accepted.

    Inside a running process PyWPS reports any failure as a generic ProcessFailed;
    checked here, a bad input gets an ows:ExceptionReport (400) naming it instead.
    """
    from pywps import Service
    from pywps.exceptions import InvalidParameterValue

    class CheckingService(Service):
        def __init__(self, adapter: WpsAdapter) -> None:
            catalog = adapter.jobs.catalog
            super().__init__(processes=adapter.processes(catalog.processes.values()))
            self.adapter = adapter
            self.seen, self.described = catalog, dict(catalog.processes)
            self.lock = threading.Lock()

        def refresh(self) -> None:
            """Follows the catalogue as models and scripts come and go: a new or changed
            description gets a new PyWPS process; the mapping is swapped whole, never
            changed under a request reading it."""
            catalog = self.adapter.jobs.catalog
            if catalog is self.seen:
                return
            with self.lock:
                if catalog is self.seen:
                    return
                changed = [p for pid, p in catalog.processes.items()
                           if self.described.get(pid) is not p]
                made = {p.identifier: p for p in self.adapter.processes(changed)}
                self.processes = OrderedDict(
                    (pid, made.get(pid) or self.processes[pid]) for pid in catalog.processes)
                self.seen, self.described = catalog, dict(catalog.processes)

        def execute(self, identifier, wps_request, uuid):
            if identifier not in self.processes:
                return super().execute(identifier, wps_request, uuid)  # PyWPS's 400
            process = self.adapter.jobs.catalog.get(identifier)
            try:
                self.adapter.admit(process, wps_request)
            except InputError as exc:
                raise InvalidParameterValue(exc.message, exc.name) from None
            except JobError as exc:
                if wps_request.raw:  # a malformed request is told so before "wait"
                    raw_output(process, wps_request.outputs)
                raise wps_exception(exc) from None
            raw = raw_output(process, wps_request.outputs) if wps_request.raw else None
            answer = super().execute(identifier, wps_request, uuid)
            finished = getattr(answer, FINISHED_JOB, None)
            if raw is not None and finished is not None:  # a failure is PyWPS's report
                return raw_response(process, finished, raw, self.adapter.store)
            return answer

    return CheckingService


class WpsAdapter:
    """Turns PyWPS requests into jobs and job results into PyWPS responses."""

    def __init__(self, jobs, store: ObjectStore, retrieve_url, status_base: str) -> None:
        self.jobs = jobs  # cloudgeo.wpsnode.jobs.service.JobService
        self.store = store
        self.retrieve_url = retrieve_url
        self.status_base = status_base.rstrip("/")

    def processes(self, described) -> list:
        process_class = queued_process_class(self)
        made = []
        for process in described:
            made.append(process_class(
                self._handler(process), identifier=process["id"], title=process["title"],
                abstract=process["description"][:2000], version=process["provider"],
                inputs=wps_inputs(process), outputs=wps_outputs(process),
                store_supported=True, status_supported=True))
        return made

    def status_url(self, job_id: str) -> str:
        return f"{self.status_base}/{job_id}"

    def _handler(self, process: dict[str, Any]):
        def handle(request, response):
            return self._execute(process, request, response)

        return handle

    def admit(self, process: dict[str, Any], request) -> None:
        """Checks, plans and admits the Execute before PyWPS takes it (inside a running
        process PyWPS would report a bad input as a generic ProcessFailed); the admitted
        job rides on the request until PyWPS hands it to the process (enqueue)."""
        inputs = raw_inputs(process, request.inputs, self.retrieve_url("inline.bin"))
        execute = ExecuteRequest(process["id"], inputs, self._outputs(process, request))
        setattr(request, ADMITTED_JOB, self.jobs.admit(execute, CURRENT.get()))

    def enqueue(self, process: dict[str, Any], request, mode: str) -> JobRecord:
        """Queues the job admitted for this request, once PyWPS has parsed its inputs:
        inline values are stored now, their links in place of the placeholders the
        plan was checked with (the same storage, so the same verdict)."""
        admitted: AdmittedJob = getattr(request, ADMITTED_JOB)
        inputs = self._inputs(process, request)
        execute = dataclasses.replace(admitted.request, inputs=inputs, mode=mode)
        plan = with_references(admitted.plan, inputs)
        return self.jobs.enqueue(dataclasses.replace(admitted, request=execute, plan=plan),
                                 CURRENT.get())

    @staticmethod
    def _outputs(process: dict[str, Any], request) -> dict[str, Any]:
        """The outputs an Execute asks for, in the CloudGeo JSON API's words."""
        outputs = {}
        files = {d["name"] for d in process.get("destinations", [])}
        for name, mime in requested_outputs(request.outputs).items():
            offered = next((o.get("formats", []) for o in process["outputs"]
                            if o["name"] == name), [])
            fmt = format_for(mime, offered) if offered else None
            if fmt:
                outputs[name] = {"format": fmt}
            elif name in files:  # named: made (optional ones too), in its first format
                outputs[name] = {}
        return outputs

    def _store_inline(self, name: str, item) -> str:
        """Inline complex data becomes a stored file, passed on as a link."""
        mime = (item.data_format.mime_type if item.data_format else "") or ""
        fmt = FORMAT_BY_MIME.get(mime.lower(), "bin")
        data = item.data
        if isinstance(data, str):
            data = data.encode()
        if not data:
            raise InputError(name, "the inline value is empty")
        with tempfile.NamedTemporaryFile(suffix=f".{fmt}") as handle:
            handle.write(data)
            handle.flush()
            file_id = new_id()
            self.store.put_file(file_id, handle.name, mime or "application/octet-stream",
                                stored_file_metadata(fmt, f"{name}.{fmt}",
                                                     CURRENT.get().user))
        return self.retrieve_url(f"{file_id}.{fmt}")

    def _inputs(self, process: dict[str, Any], request) -> dict[str, Any]:
        specs = {s["name"]: s for s in process["inputs"]}
        inputs: dict[str, Any] = {}
        for name, given in request.inputs.items():
            spec = specs.get(name)
            if spec is None:
                continue
            values = []
            for item in given:
                if spec["dataType"] in REFERENCE_KINDS:
                    href = item.url if item.prop == "url" else self._store_inline(name, item)
                    values.append({"type": "reference", "href": href})
                elif spec["dataType"] in ("json", "matrix") and isinstance(item.data, str):
                    values.append(json.loads(item.data))
                else:
                    values.append(item.data)
            inputs[name] = values if spec.get("allowMultiple") else values[0]
        return inputs

    def _execute(self, process: dict[str, Any], request, response):
        from pywps.app.exceptions import ProcessError

        try:
            record = self.enqueue(process, request, "sync")
        except InputError as exc:  # an inline value, checked only now that it is stored
            raise ProcessError(exc.message[:300], allowed_chars=_ALLOWED) from None
        # A stored response (storeExecuteResponse=true) points at this job's status.
        response.process._set_uuid(record.jobId)
        final = self.jobs.wait(record)
        if final.status != SUCCEEDED:
            raise ProcessError(final.message[:300], allowed_chars=_ALLOWED)
        # For RawDataOutput: the service answers with the output itself, from this.
        setattr(response, FINISHED_JOB, final)
        for name, value in final.output.items():
            if name not in response.outputs:
                continue
            target = response.outputs[name]
            if hasattr(target, "as_reference") and isinstance(value, str):
                target.url = value
                fmt = value.rsplit(".", 1)[-1]
                target.data_format = next(
                    (f for f in target.supported_formats if f.mime_type == mime_for(fmt)),
                    target.data_format)
            else:
                target.data = value if not isinstance(value, list) else json.dumps(value)
        response.update_status(final.message, 100)
        return response


# ProcessError keeps only word characters and these of a message (a string: PyWPS
# passes it to re.escape, and with anything else shows its generic text instead).
_ALLOWED = " .:!?=,;-_/'()[]{}\"<>+*%#@&|~^$"


class JobStatusStore:
    """PyWPS's status storage, pointed at the job status route instead of local files."""

    def __init__(self, status_url) -> None:
        self.status_url = status_url

    def location(self, filename: str) -> str:
        return filename

    def url(self, filename: str) -> str:
        return self.status_url(filename.removesuffix(".xml"))

    def write(self, *args, **kwargs) -> None:
        """Nothing to write: the document is rendered from the job record when asked."""


def queued_process_class(adapter: WpsAdapter):
    """PyWPS's Process, running asynchronous requests through our queue.

    The adapter is a class attribute because PyWPS deep-copies each process per
    request, and the adapter (with its Redis and S3 clients) must be shared.
    """
    from pywps import Process
    from pywps.exceptions import InvalidParameterValue
    from pywps.response.status import WPS_STATUS

    class QueuedProcess(Process):
        def _setup_status_storage(self):
            self._status_store = JobStatusStore(type(self).adapter.status_url)

        def _execute_process(self, async_, wps_request, wps_response):
            if not async_:
                return super()._execute_process(async_, wps_request, wps_response)
            process = type(self).adapter.jobs.catalog.get(self.identifier)
            try:
                record = type(self).adapter.enqueue(process, wps_request, "async")
            except InputError as exc:
                raise InvalidParameterValue(exc.message, exc.name) from None
            finally:
                self.clean()  # PyWPS's per-request folder; nothing runs in it
            self._set_uuid(record.jobId)
            wps_response._update_status(WPS_STATUS.ACCEPTED, "queued", 0)
            return wps_response

    QueuedProcess.adapter = adapter
    return QueuedProcess
