"""WPS node settings, from environment variables.

CLOUDGEO_WPS_HOST / _PORT (default 127.0.0.1 / 8001)
    HTTP listen address
CLOUDGEO_WPS_WORKERS / _THREADS (default 2 / 64)
    gunicorn processes / threads each (a sync call holds a thread while it waits on
    Redis, cheaply; and the gateway's health check queues behind every busy thread, so
    too few threads under a burst of sync calls take the node out of rotation)
CLOUDGEO_WPS_METRICS_DIR (default (a folder in $TMPDIR))
    prometheus multiprocess samples, shared with the QGIS workers
CLOUDGEO_WPS_NODE_ID (default wps-<hostname>-<port>)
    this node's name in job records, metrics and the registry
CLOUDGEO_WPS_STATE_DIR (default .state/wps-<port>)
    QGIS profile and scratch, job folders, the catalogue
CLOUDGEO_WPS_QGIS_WORKERS (default 2)
    QGIS worker processes (one job at a time each)
CLOUDGEO_WPS_MAX_JOBS_PER_WORKER (default 500)
    a worker's QGIS process is renewed after this many jobs (QGIS memory grows): a
    spare starts beside it a few jobs earlier and takes over between two jobs, so no
    job waits for QGIS to start
CLOUDGEO_WPS_MAX_WORKER_MEMORY_MB (default 2048)
    ... or once its resident memory passes this (a Celery worker process past it is
    replaced as well)
CLOUDGEO_WPS_JOB_TIME_LIMIT (default 3600)
    seconds a job may run before it fails and its worker is replaced
CLOUDGEO_WPS_MAX_ATTEMPTS (default 2)
    runs of a job whose worker died before it is failed
CLOUDGEO_WPS_RESULT_TTL (default 86400)
    seconds results are kept (expirationTime)
CLOUDGEO_WPS_ALLOWED_HOSTS (default gateway and file service)
    comma-separated host:port (or URLs) inputs may come from; `*` any public host
CLOUDGEO_WPS_CALLBACK_HOSTS (default *)
    comma-separated host:port (or URLs) a job's subscriber (OGC API callbacks) may name;
    `*` any host that resolves only to public addresses (loopback and private hosts
    only when named); empty: callbacks are not offered
CLOUDGEO_WPS_CALLBACK_ATTEMPTS (default 8)
    tries of one callback delivery to a subscriber that fails to take it (1, 2, 4 ...
    up to 60 s apart)
CLOUDGEO_WPS_MAX_INPUT_SIZE (default 1073741824)
    bytes per fetched input
CLOUDGEO_WPS_FETCH_TIMEOUT (default 60)
    seconds to connect/read an input
CLOUDGEO_WPS_MAX_ZIP_FILES (default 10000)
    entries in an input zip
CLOUDGEO_WPS_MAX_UNZIPPED_SIZE (default 4294967296)
    bytes an input zip may unpack to
CLOUDGEO_WPS_MAX_JOB_SCRATCH (default 10737418240)
    bytes a job may write in its folder (fetched inputs, outputs, QGIS's temporary
    files) while it runs; past it the job is stopped and fails naming the cap. Also
    the largest single file a QGIS process may write (RLIMIT_FSIZE)
CLOUDGEO_WPS_MAX_OUTPUT_SIZE (default 2147483648)
    bytes of each output file (a zipped one once zipped); a job with a larger output
    fails naming the cap and stores nothing
CLOUDGEO_WPS_INPUT_FORMATS_INCLUDE (default empty)
    comma-separated GDAL driver short names accepted as inputs besides the reviewed
    allow-list (cloudgeo/wpsnode/inputs/gdal-drivers.tsv)
CLOUDGEO_WPS_SANDBOX (default required)
    `required`: a QGIS process starts only confined by Landlock's file rules and the
    seccomp filter (worker/sandbox.py), else the node refuses to start;
    `best-effort`: it starts with what the kernel offers and logs what is missing
CLOUDGEO_WPS_INPUT_CACHE_ENTRIES / _INPUT_CACHE_BYTES (default 8 / 268435456)
    feature-source inputs from the file service kept fetched and opened per QGIS
    worker (cloudgeo.wpsnode.inputs.cache); 0 entries turns the cache off
CLOUDGEO_WPS_MAX_INLINE_OUTPUT (default 16777216)
    the largest stored file the OGC API puts inside a JSON results document when an
    output is asked for by value (larger: ask for it by reference or as a raw response,
    which streams it)
CLOUDGEO_WPS_MAX_REQUEST_BODY (default 67108864)
    bytes of a request body (an execute request with inline values); larger: 413
CLOUDGEO_WPS_BUILTIN_PROCESSES (default echo)
    comma-separated plain-Python processes (cloudgeo.wpsnode.builtin) published on the
    OGC API besides QGIS's; `echo` is what OGC's test suite executes; empty for none
CLOUDGEO_WPS_CATALOG (default <state dir>/catalog.json)
    the process descriptions, made from QGIS at first start when missing
CLOUDGEO_WPS_QUEUE (default cloudgeo.jobs)
    the Redis queue this node's jobs go to and its QGIS workers take jobs from; nodes of
    one cluster share it
CLOUDGEO_WPS_MAX_QUEUED (default 1000)
    jobs that may wait in the queue; past it new jobs are refused with 503 and Retry-After
CLOUDGEO_WPS_MAX_JOBS_PER_CALLER (default 100)
    queued plus running jobs one caller (the authenticated user, else the client's
    address) may have across the cluster; past it new jobs get 429 and Retry-After
CLOUDGEO_WPS_PROCESSES_INCLUDE / _EXCLUDE (default empty / empty)
    comma-separated globs of process ids to publish / not to publish (catalog/policy.py);
    an include entry that names a withheld algorithm exactly (no wildcard) publishes it
CLOUDGEO_WPS_MODELS_DIR (default empty: none)
    a folder of QGIS Processing models (`NAME.model3`, published as `model:NAME`) and
    Processing scripts (`NAME.py`, `script:NAME`), watched: a change is published
    without a restart. A model is published only if every algorithm it calls is
    (catalog/models.py); the outcome is logged and written to <state dir>/models-review.tsv
CLOUDGEO_WPS_MAX_MODEL_SIZE (default 1048576)
    bytes of one model or script, from the folder or deployed (OGC API Part 2)
CLOUDGEO_WPS_USER_HEADER (default empty: no authentication)
    the request header in which the gateway passes the authenticated user id; when set,
    every job records its owner and only its owner (or an admin) sees it
CLOUDGEO_WPS_ADMINS (default empty)
    comma-separated user ids that see and dismiss every job, and deploy, replace and
    undeploy models (OGC API – Processes Part 2; only with authentication)
CLOUDGEO_WPS_JOB_LIST (default owner)
    `owner`: the OGC job list shows the caller's jobs, and is off without authentication;
    `public`: without authentication, it lists every job
CLOUDGEO_REDIS_URL (default redis://127.0.0.1:6379/0)
    job store and queue (a password goes in the URL: redis://:PASSWORD@host:port/0)
CLOUDGEO_PUBLIC_URL (default http://127.0.0.1:9000)
    the gateway: output links point there
CLOUDGEO_FILE_SERVICE_URL (default http://127.0.0.1:8800)
    the file service (allowed as an input host)

Object storage: cloudgeo.storage.settings (CLOUDGEO_S3_*), the file service's bucket.
"""

from __future__ import annotations

import socket
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from cloudgeo.common.envsettings import (
    SettingsError,
    env_choice,
    env_int,
    env_list,
    env_str,
    environment,
)
from cloudgeo.common.server import ServerSettings
from cloudgeo.storage.settings import S3Settings
from cloudgeo.wpsnode.caller import JOB_LIST_MODES
from cloudgeo.wpsnode.catalog.policy import PublicationPolicy
from cloudgeo.wpsnode.catalog.store import Catalog

if TYPE_CHECKING:
    from cloudgeo.wpsnode.builtin import BuiltinProcess

GIB = 1024**3
SANDBOX_MODES = ("required", "best-effort")


@dataclass(frozen=True)
class WpsSettings:
    server: ServerSettings
    s3: S3Settings
    node_id: str
    state_dir: Path
    redis_url: str = "redis://127.0.0.1:6379/0"
    public_url: str = "http://127.0.0.1:9000"
    file_service_url: str = "http://127.0.0.1:8800"
    qgis_workers: int = 2
    max_jobs_per_worker: int = 500
    max_worker_memory_mb: int = 2048
    job_time_limit: int = 3600
    max_attempts: int = 2
    result_ttl: int = 86400
    allowed_hosts: tuple[str, ...] = ()
    callback_hosts: tuple[str, ...] = ("*",)
    callback_attempts: int = 8
    max_input_size: int = GIB
    fetch_timeout: int = 60
    max_zip_files: int = 10000
    max_unzipped_size: int = 4 * GIB
    max_job_scratch: int = 10 * GIB
    max_output_size: int = 2 * GIB
    input_formats_include: tuple[str, ...] = ()
    sandbox: str = "required"
    input_cache_entries: int = 8
    input_cache_bytes: int = 256 * 1024 * 1024
    max_inline_output: int = 16 * 1024 * 1024
    max_request_body: int = 64 * 1024 * 1024
    builtin_processes: tuple[str, ...] = ("echo",)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> WpsSettings:
        env = environment(environ)
        server = ServerSettings.from_env(env, "CLOUDGEO_WPS", port=8001, threads=64)
        public_url = env_str(env, "CLOUDGEO_PUBLIC_URL", cls.public_url).rstrip("/")
        file_url = env_str(env, "CLOUDGEO_FILE_SERVICE_URL", cls.file_service_url).rstrip("/")
        allowed = env_str(env, "CLOUDGEO_WPS_ALLOWED_HOSTS", f"{public_url},{file_url}")
        d = cls
        return cls(
            server=server,
            s3=S3Settings.from_env(env),
            node_id=env_str(env, "CLOUDGEO_WPS_NODE_ID",
                            f"wps-{socket.gethostname()}-{server.port}"),
            state_dir=Path(env_str(env, "CLOUDGEO_WPS_STATE_DIR",
                                   f".state/wps-{server.port}")).resolve(),
            redis_url=env_str(env, "CLOUDGEO_REDIS_URL", d.redis_url),
            public_url=public_url,
            file_service_url=file_url,
            qgis_workers=env_int(env, "CLOUDGEO_WPS_QGIS_WORKERS", d.qgis_workers, minimum=1),
            max_jobs_per_worker=env_int(env, "CLOUDGEO_WPS_MAX_JOBS_PER_WORKER",
                                        d.max_jobs_per_worker, minimum=1),
            max_worker_memory_mb=env_int(env, "CLOUDGEO_WPS_MAX_WORKER_MEMORY_MB",
                                         d.max_worker_memory_mb, minimum=64),
            job_time_limit=env_int(env, "CLOUDGEO_WPS_JOB_TIME_LIMIT", d.job_time_limit,
                                   minimum=1),
            max_attempts=env_int(env, "CLOUDGEO_WPS_MAX_ATTEMPTS", d.max_attempts, minimum=1),
            result_ttl=env_int(env, "CLOUDGEO_WPS_RESULT_TTL", d.result_ttl, minimum=1),
            allowed_hosts=tuple(h.strip() for h in allowed.split(",") if h.strip()),
            callback_hosts=env_list(env, "CLOUDGEO_WPS_CALLBACK_HOSTS")
            if "CLOUDGEO_WPS_CALLBACK_HOSTS" in env else d.callback_hosts,
            callback_attempts=env_int(env, "CLOUDGEO_WPS_CALLBACK_ATTEMPTS",
                                      d.callback_attempts, minimum=1),
            max_input_size=env_int(env, "CLOUDGEO_WPS_MAX_INPUT_SIZE", d.max_input_size,
                                   minimum=1),
            fetch_timeout=env_int(env, "CLOUDGEO_WPS_FETCH_TIMEOUT", d.fetch_timeout, minimum=1),
            max_zip_files=env_int(env, "CLOUDGEO_WPS_MAX_ZIP_FILES", d.max_zip_files, minimum=1),
            max_unzipped_size=env_int(env, "CLOUDGEO_WPS_MAX_UNZIPPED_SIZE",
                                      d.max_unzipped_size, minimum=1),
            max_job_scratch=env_int(env, "CLOUDGEO_WPS_MAX_JOB_SCRATCH", d.max_job_scratch,
                                    minimum=1024 * 1024),
            max_output_size=env_int(env, "CLOUDGEO_WPS_MAX_OUTPUT_SIZE", d.max_output_size,
                                    minimum=1),
            input_formats_include=env_list(env, "CLOUDGEO_WPS_INPUT_FORMATS_INCLUDE"),
            sandbox=env_choice(env, "CLOUDGEO_WPS_SANDBOX", d.sandbox, SANDBOX_MODES),
            input_cache_entries=env_int(env, "CLOUDGEO_WPS_INPUT_CACHE_ENTRIES",
                                        d.input_cache_entries, minimum=0),
            input_cache_bytes=env_int(env, "CLOUDGEO_WPS_INPUT_CACHE_BYTES",
                                      d.input_cache_bytes, minimum=0),
            max_inline_output=env_int(env, "CLOUDGEO_WPS_MAX_INLINE_OUTPUT",
                                      d.max_inline_output, minimum=0),
            max_request_body=env_int(env, "CLOUDGEO_WPS_MAX_REQUEST_BODY",
                                     d.max_request_body, minimum=1024),
            builtin_processes=env_list(env, "CLOUDGEO_WPS_BUILTIN_PROCESSES")
            if "CLOUDGEO_WPS_BUILTIN_PROCESSES" in env else d.builtin_processes,
            catalog_file=env_str(env, "CLOUDGEO_WPS_CATALOG", ""),
            queue=env_str(env, "CLOUDGEO_WPS_QUEUE", d.queue),
            max_queued=env_int(env, "CLOUDGEO_WPS_MAX_QUEUED", d.max_queued, minimum=1),
            max_jobs_per_caller=env_int(env, "CLOUDGEO_WPS_MAX_JOBS_PER_CALLER",
                                        d.max_jobs_per_caller, minimum=1),
            processes_include=env_list(env, "CLOUDGEO_WPS_PROCESSES_INCLUDE"),
            processes_exclude=env_list(env, "CLOUDGEO_WPS_PROCESSES_EXCLUDE"),
            models_dir=env_str(env, "CLOUDGEO_WPS_MODELS_DIR", ""),
            max_model_size=env_int(env, "CLOUDGEO_WPS_MAX_MODEL_SIZE", d.max_model_size,
                                   minimum=1024),
            user_header=env_str(env, "CLOUDGEO_WPS_USER_HEADER", ""),
            admins=frozenset(env_list(env, "CLOUDGEO_WPS_ADMINS")),
            job_list=env_choice(env, "CLOUDGEO_WPS_JOB_LIST", d.job_list,
                                JOB_LIST_MODES),
        )

    catalog_file: str = ""
    queue: str = "cloudgeo.jobs"
    max_queued: int = 1000
    max_jobs_per_caller: int = 100
    processes_include: tuple[str, ...] = ()
    processes_exclude: tuple[str, ...] = ()
    models_dir: str = ""
    max_model_size: int = 1024 * 1024
    user_header: str = ""
    admins: frozenset[str] = frozenset()
    job_list: str = "owner"

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
