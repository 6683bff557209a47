"""WPS node settings, from environment variables.

Each setting is declared once, below: its variable, default, bounds and description.
The table in docs/settings.md is generated from these declarations
(`python -m cloudgeo.operator.settingsdocs`), and the operator's CRD takes its defaults
and descriptions from them (cloudgeo.operator.specsettings).

Object storage: cloudgeo.storage.settings (CLOUDGEO_S3_*), the file service's bucket.
"""

from __future__ import annotations

import socket
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cloudgeo.common.envsettings import (
    ServerDefaults,
    SettingsError,
    no_trailing_slash,
    read,
    setting,
)
from cloudgeo.common.server import ServerSettings
from cloudgeo.storage.settings import S3Settings
from cloudgeo.wpsnode.caller import JOB_LIST_MODES
from cloudgeo.wpsnode.catalog.policy import PublicationPolicy
from cloudgeo.wpsnode.catalog.store import Catalog

if TYPE_CHECKING:
    from cloudgeo.wpsnode.builtin import BuiltinProcess

GIB = 1024**3
MIB = 1024**2
SANDBOX_MODES = ("required", "best-effort")

SERVER = ServerDefaults(
    "CLOUDGEO_WPS", port=8001, threads=64,
    doc="A sync call holds a thread while it waits on Redis, cheaply; and the gateway's "
        "health check queues behind every busy thread, so too few threads under a burst "
        "of sync calls take the node out of rotation.")


def _node_id(before: Mapping[str, Any]) -> str:
    return f"wps-{socket.gethostname()}-{before['server'].port}"


def _state_dir(before: Mapping[str, Any]) -> Path:
    return Path(f".state/wps-{before['server'].port}")


def _gateway_and_file_service(before: Mapping[str, Any]) -> tuple[str, ...]:
    return (before["public_url"], before["file_service_url"])


@dataclass(frozen=True)
class WpsSettings:
    server: ServerSettings
    s3: S3Settings
    node_id: str = setting(
        "CLOUDGEO_WPS_NODE_ID", derive=_node_id, default_doc="wps-<hostname>-<port>",
        doc="this node's name in job records, metrics and the registry")
    # `setting` returns a dataclasses field (ruff knows only `field` as one).
    state_dir: Path = setting(  # noqa: RUF009
        "CLOUDGEO_WPS_STATE_DIR", derive=_state_dir, convert=Path.resolve,
        default_doc=".state/wps-<port>",
        doc="QGIS profile and scratch, job folders, the catalogue")
    redis_url: str = setting(
        "CLOUDGEO_REDIS_URL", "redis://127.0.0.1:6379/0",
        doc="job store and queue (a password goes in the URL: "
            "redis://:PASSWORD@host:port/0)")
    public_url: str = setting(
        "CLOUDGEO_PUBLIC_URL", "http://127.0.0.1:9000", convert=no_trailing_slash,
        doc="the gateway: output links point there")
    file_service_url: str = setting(
        "CLOUDGEO_FILE_SERVICE_URL", "http://127.0.0.1:8800", convert=no_trailing_slash,
        doc="the file service (allowed as an input host)")
    qgis_workers: int = setting(
        "CLOUDGEO_WPS_QGIS_WORKERS", 2, minimum=1,
        doc="QGIS worker processes (one job at a time each)")
    max_jobs_per_worker: int = setting(
        "CLOUDGEO_WPS_MAX_JOBS_PER_WORKER", 500, minimum=1,
        doc="a worker's QGIS process is renewed after this many jobs (QGIS memory grows): "
            "a spare starts beside it a few jobs earlier and takes over between two jobs, "
            "so no job waits for QGIS to start")
    max_worker_memory_mb: int = setting(
        "CLOUDGEO_WPS_MAX_WORKER_MEMORY_MB", 2048, minimum=64,
        doc="a worker's QGIS process is renewed as well once its resident memory passes "
            "this many MiB (a Celery worker process past it is replaced too)")
    job_time_limit: int = setting(
        "CLOUDGEO_WPS_JOB_TIME_LIMIT", 3600, minimum=1,
        doc="seconds a job may run before it fails and its worker is replaced")
    max_attempts: int = setting(
        "CLOUDGEO_WPS_MAX_ATTEMPTS", 2, minimum=1,
        doc="runs of a job whose worker died before it is failed")
    result_ttl: int = setting(
        "CLOUDGEO_WPS_RESULT_TTL", 86400, minimum=1,
        doc="seconds results and job records are kept (expirationTime)")
    allowed_hosts: tuple[str, ...] = setting(
        "CLOUDGEO_WPS_ALLOWED_HOSTS", (), derive=_gateway_and_file_service,
        default_doc="gateway and file service",
        doc="comma-separated host:port (or URLs) inputs may come from; `*` any public host")
    callback_hosts: tuple[str, ...] = setting(
        "CLOUDGEO_WPS_CALLBACK_HOSTS", ("*",),
        doc="comma-separated host:port (or URLs) a job's subscriber (OGC API callbacks) may "
            "name; `*` any host that resolves only to public addresses (loopback and "
            "private hosts only when named); empty: callbacks are not offered")
    callback_attempts: int = setting(
        "CLOUDGEO_WPS_CALLBACK_ATTEMPTS", 8, minimum=1,
        doc="tries of one callback delivery to a subscriber that fails to take it (1, 2, "
            "4 ... up to 60 s apart)")
    max_input_size: int = setting(
        "CLOUDGEO_WPS_MAX_INPUT_SIZE", GIB, minimum=1, doc="bytes per fetched input")
    fetch_timeout: int = setting(
        "CLOUDGEO_WPS_FETCH_TIMEOUT", 60, minimum=1, doc="seconds to connect/read an input")
    max_zip_files: int = setting(
        "CLOUDGEO_WPS_MAX_ZIP_FILES", 10000, minimum=1, doc="entries in an input zip")
    max_unzipped_size: int = setting(
        "CLOUDGEO_WPS_MAX_UNZIPPED_SIZE", 4 * GIB, minimum=1,
        doc="bytes an input zip may unpack to")
    max_job_scratch: int = setting(
        "CLOUDGEO_WPS_MAX_JOB_SCRATCH", 10 * GIB, minimum=MIB,
        doc="bytes a job may write in its folder (fetched inputs, outputs, QGIS's temporary "
            "files) while it runs; past it the job is stopped and fails naming the cap. "
            "Also the largest single file a QGIS process may write (RLIMIT_FSIZE)")
    max_output_size: int = setting(
        "CLOUDGEO_WPS_MAX_OUTPUT_SIZE", 2 * GIB, minimum=1,
        doc="bytes of each output file (a zipped one once zipped); a job with a larger "
            "output fails naming the cap and stores nothing")
    input_formats_include: tuple[str, ...] = setting(
        "CLOUDGEO_WPS_INPUT_FORMATS_INCLUDE", (),
        doc="comma-separated GDAL driver short names accepted as inputs besides the "
            "reviewed allow-list (cloudgeo/wpsnode/inputs/gdal-drivers.tsv); each one "
            "widens what a caller's file can make GDAL do")
    sandbox: str = setting(
        "CLOUDGEO_WPS_SANDBOX", "required", choices=SANDBOX_MODES,
        doc="`required`: a QGIS process starts only confined by Landlock's file rules and "
            "the seccomp filter (worker/sandbox.py), else the node refuses to start; "
            "`best-effort`: it starts with what the kernel offers and logs what is missing")
    input_cache_entries: int = setting(
        "CLOUDGEO_WPS_INPUT_CACHE_ENTRIES", 8, minimum=0,
        doc="feature-source inputs from the file service kept fetched and opened per QGIS "
            "worker (cloudgeo.wpsnode.inputs.cache); 0 turns the cache off")
    input_cache_bytes: int = setting(
        "CLOUDGEO_WPS_INPUT_CACHE_BYTES", 256 * MIB, minimum=0,
        doc="bytes of those cached inputs per QGIS worker")
    max_inline_output: int = setting(
        "CLOUDGEO_WPS_MAX_INLINE_OUTPUT", 16 * MIB, minimum=0,
        doc="the largest stored file the OGC API puts inside a JSON results document when "
            "an output is asked for by value (larger: ask for it by reference or as a raw "
            "response, which streams it)")
    max_request_body: int = setting(
        "CLOUDGEO_WPS_MAX_REQUEST_BODY", 64 * MIB, minimum=1024,
        doc="bytes of a request body (an execute request with inline values); larger: 413")
    builtin_processes: tuple[str, ...] = setting(
        "CLOUDGEO_WPS_BUILTIN_PROCESSES", ("echo",),
        doc="comma-separated plain-Python processes (cloudgeo.wpsnode.builtin) published on "
            "the OGC API besides QGIS's; `echo` is what OGC's test suite executes; empty "
            "for none")
    catalog_file: str = setting(
        "CLOUDGEO_WPS_CATALOG", "", default_doc="<state dir>/catalog.json",
        doc="the process descriptions, made from QGIS at first start when missing")
    queue: str = setting(
        "CLOUDGEO_WPS_QUEUE", "cloudgeo.jobs",
        doc="the Redis queue this node's jobs go to and its QGIS workers take jobs from; "
            "nodes of one cluster share it")
    max_queued: int = setting(
        "CLOUDGEO_WPS_MAX_QUEUED", 1000, minimum=1,
        doc="jobs that may wait in the queue; past it new jobs are refused with 503 and "
            "Retry-After")
    max_jobs_per_caller: int = setting(
        "CLOUDGEO_WPS_MAX_JOBS_PER_CALLER", 100, minimum=1,
        doc="queued plus running jobs one caller (the authenticated user, else the "
            "client's address) may have across the cluster; past it new jobs get 429 and "
            "Retry-After")
    processes_include: tuple[str, ...] = setting(
        "CLOUDGEO_WPS_PROCESSES_INCLUDE", (),
        doc="comma-separated globs of process ids to publish (catalog/policy.py), all that "
            "the policy allows when empty; an entry that names a withheld algorithm "
            "exactly (no wildcard) publishes it")
    processes_exclude: tuple[str, ...] = setting(
        "CLOUDGEO_WPS_PROCESSES_EXCLUDE", (),
        doc="comma-separated globs of process ids never to publish")
    models_dir: str = setting(
        "CLOUDGEO_WPS_MODELS_DIR", "", default_doc="empty: none",
        doc="a folder of QGIS Processing models (`NAME.model3`, published as `model:NAME`) "
            "and Processing scripts (`NAME.py`, `script:NAME`), watched: a change is "
            "published without a restart. A model is published only if every algorithm it "
            "calls is (catalog/models.py); the outcome is logged and written to "
            "<state dir>/models-review.tsv")
    max_model_size: int = setting(
        "CLOUDGEO_WPS_MAX_MODEL_SIZE", MIB, minimum=1024,
        doc="bytes of one model or script, from the folder or deployed (OGC API Part 2)")
    user_header: str = setting(
        "CLOUDGEO_WPS_USER_HEADER", "", default_doc="empty: no authentication",
        doc="the request header in which the gateway passes the authenticated user id; "
            "when set, every job records its owner and only its owner (or an admin) sees it")
    admins: frozenset[str] = setting(
        "CLOUDGEO_WPS_ADMINS", frozenset(),
        doc="comma-separated user ids that see and dismiss every job, and deploy, replace "
            "and undeploy models (OGC API - Processes Part 2; only with authentication)")
    job_list: str = setting(
        "CLOUDGEO_WPS_JOB_LIST", "owner", choices=JOB_LIST_MODES,
        doc="`owner`: the OGC job list shows the caller's own jobs, and is off without "
            "authentication; `public`: without authentication, it lists every job")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> WpsSettings:
        return read(cls, environ, server=SERVER.read(environ), s3=S3Settings.from_env(environ))

    def __post_init__(self) -> None:
        self.builtins()  # an unknown builtin process name stops the node at start

    def builtins(self) -> dict[str, BuiltinProcess]:
        """The plain-Python processes this node publishes on the OGC API."""
        from cloudgeo.wpsnode.builtin import enabled

        try:
            return enabled(self.builtin_processes)
        except ValueError as exc:
            raise SettingsError(f"CLOUDGEO_WPS_BUILTIN_PROCESSES: {exc}") from None

    def publication_policy(self) -> PublicationPolicy:
        return PublicationPolicy.from_globs(self.processes_include, self.processes_exclude)

    def load_catalog(self) -> Catalog:
        """The catalogue as this node publishes it (its policy applied)."""
        return Catalog.load(self.catalog_path, self.publication_policy())

    @property
    def models_folder(self) -> Path | None:
        return Path(self.models_dir).resolve() if self.models_dir else None

    @property
    def authenticated(self) -> bool:
        return bool(self.user_header)

    @property
    def callbacks_offered(self) -> bool:
        """Whether a job may name a subscriber to notify (OGC API's callback class)."""
        return bool(self.callback_hosts)

    @property
    def catalog_path(self) -> Path:
        return Path(self.catalog_file) if self.catalog_file else self.state_dir / "catalog.json"

    def retrieve_url(self, name: str) -> str:
        return f"{self.public_url}/api/file/retrieve/{name}"
