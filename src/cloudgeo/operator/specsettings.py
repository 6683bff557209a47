"""Which GeoProcessingCluster fields set which setting of the services, written once: the
CRD takes each such field's default, bounds and description from the setting's
declaration (cloudgeo.common.envsettings.setting), and the builders put its value in the
containers' environment under the setting's variable. Pure."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, get_origin

from cloudgeo.common.envsettings import Declared, declared, to_env
from cloudgeo.fileservice.settings import FileServiceSettings
from cloudgeo.wpsnode.settings import WpsSettings

NODES, FILES = "wpsNodes", "fileService"


@dataclass(frozen=True)
class SpecSetting:
    path: tuple[str, ...]  # from spec: ("wpsNodes", "callbacks", "attempts")
    owner: type  # the settings class that declares it
    field: str

    @property
    def declared(self) -> Declared:
        return declared(self.owner)[self.field]

    @property
    def env(self) -> str:
        return self.declared.env

    def value(self, spec: Mapping[str, Any]) -> Any:
        for key in self.path:
            spec = spec[key]
        return spec

    def env_value(self, spec: Mapping[str, Any]) -> str:
        return to_env(self.value(spec))


def _at(owner: type, *pairs: tuple[tuple[str, ...], str]) -> tuple[SpecSetting, ...]:
    return tuple(SpecSetting(path, owner, name) for path, name in pairs)


# Grouped, and in each group ordered, as the containers' environment lists them (a pod
# template that changed order would roll every pod).
NODE_LIMITS = _at(
    WpsSettings,
    ((NODES, "qgisWorkers"), "qgis_workers"),
    ((NODES, "jobTimeLimitSeconds"), "job_time_limit"),
    ((NODES, "maxQueuedJobs"), "max_queued"),
    ((NODES, "resultTTLSeconds"), "result_ttl"),
    ((NODES, "maxJobsPerWorker"), "max_jobs_per_worker"),
    ((NODES, "maxJobScratchSize"), "max_job_scratch"),
    ((NODES, "maxOutputSize"), "max_output_size"),
    ((NODES, "maxJobsPerCaller"), "max_jobs_per_caller"),
    ((NODES, "models", "maxSize"), "max_model_size"))
NODE_GUARDS = _at(
    WpsSettings,
    ((NODES, "inputFormats", "include"), "input_formats_include"),
    ((NODES, "sandbox"), "sandbox"),
    ((NODES, "callbacks", "hosts"), "callback_hosts"),
    ((NODES, "callbacks", "attempts"), "callback_attempts"))
NODE_JOB_LIST = _at(WpsSettings, ((NODES, "jobList"), "job_list"))
NODE_PUBLICATION = _at(  # set only when not empty
    WpsSettings,
    ((NODES, "processes", "include"), "processes_include"),
    ((NODES, "processes", "exclude"), "processes_exclude"))
NODE_ADMINS = _at(WpsSettings, ((NODES, "admins"), "admins"))  # with authentication
FILE_LIMITS = _at(FileServiceSettings, ((FILES, "maxUploadSize"), "max_size"))
FILE_ACCESS = _at(  # with authentication
    FileServiceSettings,
    ((NODES, "admins"), "admins"),
    ((FILES, "ownerOnlyRetrieval"), "owner_only_retrieval"))

ALL = (*NODE_LIMITS, *NODE_GUARDS, *NODE_JOB_LIST, *NODE_PUBLICATION, *NODE_ADMINS,
       *FILE_LIMITS, *FILE_ACCESS)


def spec_env(spec: Mapping[str, Any], entries: Iterable[SpecSetting]) -> dict[str, str]:
    """The variables, with the spec's values, of `entries` (a spec the defaults filled)."""
    return {entry.env: entry.env_value(spec) for entry in entries}


def describing(*path: str) -> SpecSetting:
    """The entry whose setting describes the CRD field at `path` (the first to name it)."""
    return next(entry for entry in ALL if entry.path == path)


def sentence(doc: str, array: bool = False) -> str:
    # A list is an array in the CRD, not a comma-separated value.
    if array and doc.startswith("comma-separated "):
        doc = doc.removeprefix("comma-separated ")
    return f"{doc[:1].upper()}{doc[1:]}{'' if doc.endswith('.') else '.'}"


def setting_schema(*path: str, note: str = "", minimum: int | None = None,
                   maximum: int | None = None) -> dict[str, Any]:
    """The CRD schema of the field at `path`, from its setting's declaration: the type, the
    default, the bounds (`minimum` / `maximum` may only narrow them) and the description
    (`note` adds what only Kubernetes needs to know)."""
    item = describing(*path).declared
    kind, s = item.kind, item.setting
    array = get_origin(kind) in (tuple, frozenset)
    description = sentence(s.doc, array) + (f" {note}" if note else "")
    if kind is int:
        schema: dict[str, Any] = {"type": "integer", "default": item.default,
                                  "minimum": max(s.minimum or 0, minimum or 0)}
        if maximum is not None:
            schema["maximum"] = maximum
    elif kind is bool:
        schema = {"type": "boolean", "default": item.default}
    elif kind is str:
        schema = {"type": "string", **({"enum": list(s.choices)} if s.choices else {}),
                  "default": item.default}
    elif array:
        schema = {"type": "array", "items": {"type": "string", "minLength": 1},
                  "default": sorted(item.default) if isinstance(item.default, frozenset)
                  else list(item.default)}
    else:
        raise TypeError(f"{'.'.join(path)}: no CRD schema for settings of type {kind!r}")
    return {**schema, "description": description}
