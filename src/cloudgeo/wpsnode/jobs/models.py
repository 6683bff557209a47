"""Models and scripts in the live catalogue: the operator's folder and deployed models.

- The operator's folder (CLOUDGEO_WPS_MODELS_DIR) is watched by the node's main
  process (`FolderModels`): when a file changes, what is new is described by QGIS in a
  short-lived process (descriptions are cached by content hash) and the result written
  to `<state dir>/models.json`, which every HTTP worker of the node reads.
- Deployed models (OGC API – Processes Part 2) are stored once in Redis
  (`DeployedModels`: one hash, and a version counter every change increments), with
  the description the deploying node made; every node sees them at its next refresh.
- `LiveCatalog` is what the HTTP workers read: the base catalogue plus the models the
  policy publishes, rebuilt when models.json or the Redis version changes (checked at
  most every REFRESH_SECONDS), so nodes pick up changes without a restart.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import redis

from cloudgeo.wpsnode.caller import Caller
from cloudgeo.wpsnode.catalog.models import (
    MODEL,
    QGIS_FAILED,
    ModelDefinition,
    as_process,
    children_problem,
    decide,
    describe_with_qgis,
    folder_signature,
    identifier_parts,
    name_problem,
    read_folder,
    review,
)
from cloudgeo.wpsnode.catalog.policy import Decision, PublicationPolicy
from cloudgeo.wpsnode.catalog.store import Catalog
from cloudgeo.wpsnode.jobs.errors import (
    AuthenticationRequired,
    DeploymentRefused,
    DeploymentTooLarge,
    NoDeployedProcess,
    NotAnAdministrator,
    ProcessDeployedAlready,
    ProcessImmutable,
)

log = logging.getLogger(__name__)

DEPLOYED_KEY = "cloudgeo:models:deployed"
VERSION_KEY = "cloudgeo:models:version"
REFRESH_SECONDS = 1.0
FOLDER_POLL_SECONDS = 1.0
RETRY_SECONDS = 30.0


def models_file(state_dir: Path) -> Path:
    return state_dir / "models.json"


def review_file(state_dir: Path) -> Path:
    return state_dir / "models-review.tsv"


class DeployedModels:
    """Deployed models in Redis: id -> {kind, name, content, description, error, sha,
    deployedBy, deployedAt}."""

    def __init__(self, client: redis.Redis) -> None:
        self.redis = client

    def version(self) -> int:
        return int(self.redis.get(VERSION_KEY) or 0)

    def all(self) -> dict[str, dict[str, Any]]:
        return {k.decode() if isinstance(k, bytes) else k: json.loads(v)
                for k, v in self.redis.hgetall(DEPLOYED_KEY).items()}

    def get(self, identifier: str) -> dict[str, Any] | None:
        raw = self.redis.hget(DEPLOYED_KEY, identifier)
        return json.loads(raw) if raw else None

    def put(self, identifier: str, entry: Mapping[str, Any]) -> None:
        with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(DEPLOYED_KEY, identifier, json.dumps(entry))
            pipe.incr(VERSION_KEY)
            pipe.execute()

    def add(self, identifier: str, entry: Mapping[str, Any]) -> bool:
        """Stores a new model; False when one with this id exists (nothing changed)."""
        if not self.redis.hsetnx(DEPLOYED_KEY, identifier, json.dumps(entry)):
            return False
        self.redis.incr(VERSION_KEY)
        return True

    def remove(self, identifier: str) -> bool:
        with self.redis.pipeline(transaction=True) as pipe:
            pipe.hdel(DEPLOYED_KEY, identifier)
            pipe.incr(VERSION_KEY)
            removed, _ = pipe.execute()
        return bool(removed)


def entry(definition: ModelDefinition, described: dict | None, error: str | None,
          **extra: Any) -> dict[str, Any]:
    return {"kind": definition.kind, "name": definition.name, "content": definition.content,
            "sha": definition.sha, "description": described, "error": error, **extra}


def definition_of(stored: Mapping[str, Any], origin: str) -> ModelDefinition:
    return ModelDefinition(stored["kind"], stored["name"], stored["content"], origin)


class FolderModels:
    """The operator's folder, described into <state dir>/models.json (the node's main
    process: one QGIS process per change, not one per HTTP worker)."""

    def __init__(self, folder: Path | None, state_dir: Path, max_size: int,
                 policy: PublicationPolicy, base: Catalog) -> None:
        self.folder, self.state_dir, self.max_size = folder, state_dir, max_size
        self.policy, self.base = policy, base
        self.signature: tuple | None = None
        self.retry_at = 0.0  # after QGIS itself failed to describe
        self.cache: dict[str, tuple[dict | None, str | None]] = {}
        self._load_cache()

    def _load_cache(self) -> None:
        try:
            for stored in json.loads(models_file(self.state_dir).read_text())["models"]:
                self.cache[stored["sha"]] = (stored["description"], stored["error"])
        except (OSError, ValueError, KeyError, TypeError):
            pass

    def refresh(self) -> bool:
        """Describes and writes the folder's models when it changed; True if it did."""
        signature = folder_signature(self.folder)
        if signature == self.signature or time.monotonic() < self.retry_at:
            return False
        definitions, skipped = read_folder(self.folder, self.max_size)
        missing = [d for d in definitions.values() if d.sha not in self.cache]
        failed: list[str] = []  # QGIS itself failed, not the model: described again later
        if missing:
            log.info("describing %d model(s) and script(s) of %s with QGIS", len(missing),
                     self.folder)
            described = describe_with_qgis(missing, self.state_dir / "models-qgis")
            self.cache.update(described)
            failed = [sha for sha, (_, error) in described.items()
                      if error and error.startswith(QGIS_FAILED)]
        stored = [entry(d, *self.cache[d.sha]) for d in definitions.values()]
        target = models_file(self.state_dir)
        tmp = target.with_suffix(".tmp")
        tmp.write_text(json.dumps({"models": stored, "skipped": skipped}))
        tmp.replace(target)
        decisions = {d.identifier: decide(d, *self.cache[d.sha], self.policy,
                                          self.base.processes)
                     for d in definitions.values()}
        review_file(self.state_dir).write_text(review(decisions))
        for name, why in sorted(skipped.items()):
            log.warning("models folder: %s skipped: %s", name, why)
        for identifier, decision in sorted(decisions.items()):
            if decision.published:
                log.info("publishing %s", identifier)
            else:
                log.warning("withholding %s: %s", identifier, decision.reason)
        self.signature = None if failed else signature
        if failed:
            self.retry_at = time.monotonic() + RETRY_SECONDS
            for sha in failed:
                del self.cache[sha]
        return True

    def watch(self, stop: threading.Event, interval: float = FOLDER_POLL_SECONDS) -> None:
        while not stop.wait(interval):
            try:
                self.refresh()
            except Exception:  # a bad file must not stop the watching
                log.exception("models folder: refresh failed")

    def start(self) -> threading.Event:
        stop = threading.Event()
        threading.Thread(target=self.watch, args=(stop,), name="models-folder",
                         daemon=True).start()
        return stop


class LiveCatalog:
    """The base catalogue plus the published models and scripts, kept current."""

    def __init__(self, base: Catalog, state_dir: Path, client: redis.Redis | None,
                 policy: PublicationPolicy, refresh: float = REFRESH_SECONDS) -> None:
        self.base, self.state_dir, self.policy = base, state_dir, policy
        self.deployed = DeployedModels(client) if client is not None else None
        self.interval = refresh
        self.lock = threading.Lock()
        self.checked = 0.0
        self.seen: tuple = ()
        self.snapshot = base
        self.definitions: dict[str, dict[str, Any]] = {}  # published id -> stored entry

    def current(self) -> Catalog:
        if time.monotonic() - self.checked < self.interval:
            return self.snapshot
        with self.lock:
            if time.monotonic() - self.checked >= self.interval:
                self._refresh()
                self.checked = time.monotonic()
        return self.snapshot

    def definition(self, identifier: str) -> dict[str, Any] | None:
        """The stored model or script behind a published id (content and steps)."""
        self.current()
        return self.definitions.get(identifier)

    def _refresh(self) -> None:
        path = models_file(self.state_dir)
        try:
            stat = path.stat()
            folder_key = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
        except OSError:
            folder_key = None
        try:
            version = self.deployed.version() if self.deployed is not None else 0
            if (folder_key, version) == self.seen:
                return
            deployed = self.deployed.all() if self.deployed is not None and version else {}
        except redis.RedisError:  # the job store is down: keep what was published
            return
        folder = []
        if folder_key is not None:
            try:
                folder = json.loads(path.read_text())["models"]
            except (OSError, ValueError, KeyError):
                return  # half-written or unreadable: try again at the next refresh
        self.snapshot, self.definitions = self._merge(folder, deployed)
        self.seen = (folder_key, version)

    def _merge(self, folder: list[dict], deployed: dict[str, dict]
               ) -> tuple[Catalog, dict[str, dict[str, Any]]]:
        processes = dict(self.base.processes)
        decisions: dict[str, Decision] = dict(self.base.decisions)
        definitions = {}
        candidates = [(definition_of(s, "deployed"), s) for s in deployed.values()]
        candidates += [(definition_of(s, "folder"), s) for s in folder]  # the folder wins
        for definition, stored in candidates:
            decision = decide(definition, stored.get("description"), stored.get("error"),
                              self.policy, self.base.processes)
            decisions[definition.identifier] = decision
            if decision.published:
                processes[definition.identifier] = as_process(definition,
                                                              stored["description"])
                definitions[definition.identifier] = {**stored, "origin": definition.origin}
            else:
                processes.pop(definition.identifier, None)
                definitions.pop(definition.identifier, None)
        return Catalog(self.base.qgis_version, processes, decisions), definitions


def job_model(stored: Mapping[str, Any]) -> dict[str, Any]:
    """What a job carries of its model or script, for the worker to build and check it."""
    model = {"kind": stored["kind"], "name": stored["name"], "content": stored["content"],
             "sha": stored["sha"]}
    if stored["kind"] == MODEL:
        model["steps"] = stored["description"].get("steps", [])
    return model


def admin_only(caller: Caller) -> None:
    """Deploying is an administrator's act (a model is a program every caller may run)."""
    if caller.user is None:
        raise AuthenticationRequired(
            "deploying, replacing and undeploying processes needs an authenticated "
            "administrator (CLOUDGEO_WPS_USER_HEADER and CLOUDGEO_WPS_ADMINS)")
    if not caller.admin:
        raise NotAnAdministrator(f"{caller.user} is not an administrator of this service "
                                 "(CLOUDGEO_WPS_ADMINS)")


class ModelDeployments:
    """Deploy, replace and undeploy models (OGC API – Processes Part 2), checked by the
    same policy as the folder's, described by QGIS once and stored once in Redis."""

    def __init__(self, catalogs: LiveCatalog, max_size: int, state_dir: Path) -> None:
        if catalogs.deployed is None:
            raise ValueError("deployments need the job store")
        self.catalogs, self.deployed = catalogs, catalogs.deployed
        self.max_size, self.state_dir = max_size, state_dir

    def _check_size(self, content: str) -> None:
        size = len(content.encode())
        if size > self.max_size:
            raise DeploymentTooLarge(f"the model is {size} bytes, above the "
                                     f"{self.max_size} this service takes "
                                     "(CLOUDGEO_WPS_MAX_MODEL_SIZE)", "executionUnit")

    def _described(self, name: str | None, content: str) -> tuple[ModelDefinition, dict]:
        """The model, described by QGIS and published under the policy, or a 400 naming
        what is wrong (the withheld algorithms it calls)."""
        from cloudgeo.wpsnode.catalog.models import content_problem, model_algorithms

        self._check_size(content)
        problem = content_problem(MODEL, content)
        algorithms = model_algorithms(content) if problem is None else None
        if problem is None and algorithms is None:
            problem = "the model is not well-formed XML"
        if problem is None:  # refused before QGIS reads it, naming what it calls
            problem = children_problem([{"algorithm": a} for a in algorithms],
                                       self.catalogs.base.processes)
        if problem:
            raise DeploymentRefused(problem, "executionUnit")
        probe = ModelDefinition(MODEL, name or "deployed", content, "deployed")
        described, error = describe_with_qgis([probe], self.state_dir / "models-qgis")[probe.sha]
        if described is None:
            raise DeploymentRefused(f"QGIS could not load the model: {error}",
                                    "executionUnit")
        if name is None:
            name = re.sub(r"[^A-Za-z0-9_.-]", "_", str(described.get("id") or "")).strip("._-")
        problem = name_problem(name)
        if problem:
            raise DeploymentRefused(f"the process id: {problem}", "processDescription.id")
        definition = ModelDefinition(MODEL, name, content, "deployed")
        base = self.catalogs.base
        decision = decide(definition, described, None, self.catalogs.policy, base.processes)
        if not decision.published:
            raise DeploymentRefused(f"{definition.identifier} is refused: {decision.reason}",
                                    "executionUnit")
        return definition, described

    def _not_immutable(self, identifier: str) -> None:
        stored = self.catalogs.definition(identifier)
        if identifier in self.catalogs.base.processes or (
                stored is not None and stored.get("origin") == "folder"):
            raise ProcessImmutable(f"{identifier} is published by the operator, not "
                                   "deployed: it cannot be replaced or undeployed here")

    def deploy(self, name: str | None, content: str, user: str | None) -> str:
        definition, described = self._described(name, content)
        identifier = definition.identifier
        self._not_immutable(identifier)
        stored = entry(definition, described, None, deployedBy=user, deployedAt=time.time())
        if not self.deployed.add(identifier, stored):
            raise ProcessDeployedAlready(f"{identifier} is deployed already: replace it "
                                         f"with PUT /processes/{identifier}")
        self.catalogs.checked = 0.0  # this node publishes it at once
        return identifier

    def replace(self, identifier: str, name: str | None, content: str,
                user: str | None) -> None:
        self._not_immutable(identifier)
        parts = identifier_parts(identifier)
        if parts is None or parts[0] != MODEL or self.deployed.get(identifier) is None:
            raise NoDeployedProcess(identifier)
        if name is not None and f"{MODEL}:{name}" != identifier:
            raise DeploymentRefused(f"the package names {name!r}, the URL {identifier}",
                                    "processDescription.id")
        definition, described = self._described(parts[1], content)
        self.deployed.put(identifier, entry(definition, described, None, deployedBy=user,
                                            deployedAt=time.time()))
        self.catalogs.checked = 0.0

    def undeploy(self, identifier: str) -> None:
        self._not_immutable(identifier)
        if not self.deployed.remove(identifier):
            raise NoDeployedProcess(identifier)
        self.catalogs.checked = 0.0
