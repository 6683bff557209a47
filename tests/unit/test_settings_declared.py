"""Each setting is declared once (cloudgeo.common.envsettings.setting); what is made from
the declarations is checked here: docs/settings.md is not stale, the CRD's fields agree
with the settings they set, and the operator's environment for the services names
declared variables that read back to the declared defaults."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path

import pytest

from cloudgeo.common.envsettings import (
    SettingsError,
    as_env,
    declared,
    read,
    setting,
    to_env,
)
from cloudgeo.common.server import ServerSettings
from cloudgeo.fileservice.settings import FileServiceSettings
from cloudgeo.operator.builders import ClusterView
from cloudgeo.operator.builders.fileservice import file_service_deployment
from cloudgeo.operator.builders.nodes import node_deployment
from cloudgeo.operator.builders.settings import settings_data
from cloudgeo.operator.crd import crd_manifest
from cloudgeo.operator.install import sample_cluster
from cloudgeo.operator.settings import OperatorSettings
from cloudgeo.operator.settingsdocs import DOC, rendered
from cloudgeo.operator.specsettings import ALL, SpecSetting, describing, sentence
from cloudgeo.storage.settings import S3Settings
from cloudgeo.wpsnode.settings import WpsSettings

ROOT = Path(__file__).resolve().parents[2]
SETTINGS_CLASSES = (WpsSettings, FileServiceSettings, S3Settings, OperatorSettings)


def test_the_settings_docs_are_generated_from_the_declarations():
    page = (ROOT / DOC).read_text()
    assert rendered(page) == page, f"{DOC} is stale: run python -m cloudgeo.operator.render ."
    for cls in SETTINGS_CLASSES:
        for item in declared(cls).values():
            assert f"| `{item.env}` |" in page


# -- the CRD ---------------------------------------------------------------------------------

def spec_schema() -> dict:
    return crd_manifest()["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"][
        "spec"]


def field_schema(spec: dict, path: tuple[str, ...]) -> dict:
    for key in path:
        spec = spec["properties"][key]
    return spec


def crd_default(value):
    return sorted(value) if isinstance(value, frozenset) else (
        list(value) if isinstance(value, tuple) else value)


def disagreements(spec: dict, entries: tuple[SpecSetting, ...] = ALL) -> list[str]:
    """Where a CRD field and the setting it sets disagree (default, bounds, description)."""
    found = []
    for entry in entries:
        where, item, schema = ".".join(entry.path), entry.declared, field_schema(spec, entry.path)
        if schema.get("default") != crd_default(item.default):
            found.append(f"{where}: default {schema.get('default')!r}, {item.env} "
                         f"{item.default!r}")
        if item.kind is int and schema.get("minimum", 0) < (item.setting.minimum or 0):
            found.append(f"{where}: admits {schema.get('minimum')}, below {item.env}'s minimum")
        if item.setting.choices and schema.get("enum") != list(item.setting.choices):
            found.append(f"{where}: enum {schema.get('enum')}, {item.env} "
                         f"{item.setting.choices}")
        array = schema.get("type") == "array"
        if describing(*entry.path) is entry and not schema.get("description", "").startswith(
                sentence(item.setting.doc, array)):
            found.append(f"{where}: its description is not {item.env}'s")
    return found


def test_the_crd_fields_agree_with_the_settings_they_set():
    assert disagreements(spec_schema()) == []


def test_the_check_sees_a_crd_default_or_bound_written_apart():
    planted = copy.deepcopy(spec_schema())
    nodes = planted["properties"]["wpsNodes"]["properties"]
    nodes["jobTimeLimitSeconds"]["default"] = 1800
    nodes["qgisWorkers"]["minimum"] = 0
    nodes["sandbox"]["description"] = "Something else."
    assert disagreements(planted) == [
        "wpsNodes.qgisWorkers: admits 0, below CLOUDGEO_WPS_QGIS_WORKERS's minimum",
        "wpsNodes.jobTimeLimitSeconds: default 1800, CLOUDGEO_WPS_JOB_TIME_LIMIT 3600",
        "wpsNodes.sandbox: its description is not CLOUDGEO_WPS_SANDBOX's"]


# -- the operator's environment for the services -----------------------------------------------

def cluster(spec: dict) -> ClusterView:
    resource = sample_cluster()
    resource["spec"] = spec
    resource["metadata"]["uid"] = "u"
    return ClusterView.of(resource)


def plain_env(deployment: dict) -> dict[str, str]:
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    return {e["name"]: e["value"] for e in container["env"] if "value" in e}


AUTHENTICATED = {"gateway": {"authentication": {"mode": "basic", "htpasswdSecret": "users"}},
                 "wpsNodes": {"processes": {"include": ["native:*"], "exclude": ["x:*"]}}}


@pytest.mark.parametrize("spec", [{}, AUTHENTICATED])
def test_the_services_env_names_declared_settings_and_reads_back_the_crds_values(spec):
    view = cluster(spec)
    shared = settings_data(view)  # the ConfigMap every service reads
    everyone = {item.env for c in SETTINGS_CLASSES for item in declared(c).values()}
    assert {name for name in shared if name.startswith(("CLOUDGEO_S3_", "CLOUDGEO_WPS_",
                                                       "CLOUDGEO_FILE_"))} <= everyone
    for build, cls, server in ((node_deployment, WpsSettings, "CLOUDGEO_WPS"),
                               (file_service_deployment, FileServiceSettings, "CLOUDGEO_FILE")):
        own = plain_env(build(view))
        env = {**shared, **own}
        known = {item.env for c in (cls, S3Settings) for item in declared(c).values()}
        known |= {f"{server}_{f.upper()}" for f in ServerSettings.__dataclass_fields__}
        # (CLOUDGEO_REDIS_URL and the registry's variables are read by the registry too.)
        assert {name for name in own if name.startswith((server + "_", "CLOUDGEO_S3_"))
                } - known == set()
        settings = cls.from_env(env)
        for entry in ALL:
            if entry.owner is cls and entry.env in env:
                assert getattr(settings, entry.field) == read_back(entry, view.spec)


def read_back(entry: SpecSetting, spec: dict):
    value = entry.value(spec)
    kind = type(entry.declared.default)
    return kind(value) if kind in (tuple, frozenset) else value


def test_with_an_empty_spec_the_services_run_with_their_declared_defaults():
    env = {**settings_data(cluster({})), **plain_env(node_deployment(cluster({})))}
    settings = WpsSettings.from_env(env)
    for entry in ALL:
        if entry.owner is WpsSettings and entry.env in env:
            assert getattr(settings, entry.field) == entry.declared.default, entry.env


# -- the generic reader -------------------------------------------------------------------------

@dataclass(frozen=True)
class Sample:
    base: str = setting("T_BASE", "http://h/", doc="a base", convert=lambda v: v.rstrip("/"))
    hosts: tuple[str, ...] = setting("T_HOSTS", (), doc="hosts",
                                     derive=lambda before: (before["base"],))
    tags: tuple[str, ...] = setting("T_TAGS", ("a",), doc="tags")
    owners: frozenset[str] = setting("T_OWNERS", frozenset(), doc="owners")
    count: int = setting("T_COUNT", 2, minimum=1, doc="count")
    mode: str = setting("T_MODE", "on", choices=("on", "off"), doc="mode")
    ratio: float = setting("T_RATIO", 0.5, doc="ratio")
    flag: bool = setting("T_FLAG", False, doc="flag")


def test_a_declared_default_a_derived_one_and_lists_set_to_nothing():
    assert read(Sample, {}) == Sample(base="http://h", hosts=("http://h",))
    assert read(Sample, {"T_HOSTS": " ", "T_BASE": "http://g/"}).hosts == ("http://g",)
    assert read(Sample, {"T_HOSTS": "x, y,"}).hosts == ("x", "y")
    assert read(Sample, {"T_TAGS": ""}).tags == ()  # set, even to nothing, replaces it
    assert read(Sample, {"T_OWNERS": "b,a,b"}).owners == frozenset({"a", "b"})


@pytest.mark.parametrize(("key", "value", "message"), [
    ("T_COUNT", "0", "T_COUNT=0 is below the minimum 1"),
    ("T_COUNT", "two", "T_COUNT='two' is not a whole number"),
    ("T_MODE", "auto", "T_MODE='auto' is not one of on, off"),
    ("T_RATIO", "half", "T_RATIO='half' is not a number"),
    ("T_FLAG", "maybe", "T_FLAG='maybe' is not a boolean"),
])
def test_a_bad_value_names_its_variable(key, value, message):
    with pytest.raises(SettingsError, match=message):
        read(Sample, {key: value})


def test_as_env_is_what_read_takes_back():
    sample = Sample(base="http://b", hosts=("p", "q"), tags=(), owners=frozenset({"z", "y"}),
                    count=3, mode="off", ratio=0.25, flag=True)
    assert as_env(sample)["T_OWNERS"] == "y,z" and to_env(True) == "true"
    assert read(Sample, as_env(sample)) == sample


def test_a_field_of_a_type_without_a_reader_is_refused():
    @dataclass(frozen=True)
    class Odd:
        when: complex = setting("T_WHEN", 0j, doc="?")

    with pytest.raises(TypeError, match="no reader"):
        read(Odd, {"T_WHEN": "1"})


def test_the_gateway_image_reads_its_declared_settings_and_refuses_a_bad_one():
    from cloudgeo.common.envsettings import SettingsError
    from cloudgeo.gateway.settings import GatewayImageSettings

    gateway = GatewayImageSettings.from_env({
        "CLOUDGEO_REGISTRY": "consul", "CLOUDGEO_GATEWAY_CONSUL_ENDPOINT": "c:1",
        "CLOUDGEO_GATEWAY_AUTH": "basic", "CLOUDGEO_GATEWAY_HTPASSWD": "/h"}).gateway()
    assert (gateway.host, gateway.registry, gateway.consul_endpoint) == ("", "consul", "c:1")
    assert (gateway.auth, gateway.htpasswd_file, gateway.user_header) == (
        "basic", "/h", "X-CloudGeo-User")
    with pytest.raises(SettingsError, match="CLOUDGEO_GATEWAY_AUTH='oauth'"):
        GatewayImageSettings.from_env({"CLOUDGEO_GATEWAY_AUTH": "oauth"})


def test_registration_defaults_to_the_job_stores_redis_and_refuses_an_unknown_registry():
    from cloudgeo.common.envsettings import SettingsError
    from cloudgeo.registry.registrar import RegistrySettings

    assert RegistrySettings.from_env({}).redis_url == "redis://127.0.0.1:6379/0"
    assert RegistrySettings.from_env({"CLOUDGEO_REDIS_URL": "redis://j:1/0"}).redis_url == (
        "redis://j:1/0")
    assert RegistrySettings.from_env({"CLOUDGEO_REDIS_URL": "redis://j:1/0",
                                      "CLOUDGEO_REGISTRY_REDIS_URL": "redis://r:2/1"}
                                     ).redis_url == "redis://r:2/1"
    with pytest.raises(SettingsError, match="CLOUDGEO_REGISTRY='etcd'"):
        RegistrySettings.from_env({"CLOUDGEO_REGISTRY": "etcd"})
