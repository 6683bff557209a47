"""The pure rules around the confined QGIS process: what it may touch, which formats it
may open, the settings that widen either, and whose files the file service serves."""

from __future__ import annotations

from pathlib import Path

import pytest

from cloudgeo.common.envelope import ApiError
from cloudgeo.common.envsettings import SettingsError
from cloudgeo.fileservice.ownership import FileCaller, file_caller
from cloudgeo.wpsnode.inputs.layer_formats import allowed_drivers, format_problem
from cloudgeo.wpsnode.settings import WpsSettings
from cloudgeo.wpsnode.worker.qgis_process import WorkerFolders, start_message
from tests.support.hostile_layers import allowed_driver_layers, hostile_layers


def test_the_qgis_process_may_write_only_its_own_folders():
    folders = WorkerFolders(Path("/var/lib/cloudgeo/workers/42"))
    start = start_message(folders, frozenset({"GTiff"}), 1024, "required")
    assert start["read_write"][:2] == [str(folders.qgis), str(folders.jobs)]
    assert all(p.startswith("/dev/") for p in start["read_write"][2:])
    assert str(folders.inputs) in start["read_only"]  # the cache: read, never written
    touched = start["read_only"] + start["read_write"]
    for secret in ("/", "/proc", "/etc", "/etc/passwd", "/root", "/home", "/var/run",
                   "/var/lib/cloudgeo", "/run/secrets"):
        assert secret not in touched
    assert not any(p.startswith(("/proc", "/sys", "/var/run", "/run")) for p in touched)
    assert start["max_file_size"] == 1024 and start["required"] == "filesystem"
    assert start_message(folders, frozenset(), 1, "best-effort")["required"] == "none"


def test_limits_and_sandbox_settings():
    settings = WpsSettings.from_env({
        "CLOUDGEO_WPS_MAX_JOB_SCRATCH": str(2**30), "CLOUDGEO_WPS_MAX_OUTPUT_SIZE": "10",
        "CLOUDGEO_WPS_INPUT_FORMATS_INCLUDE": "netCDF, HDF5", "CLOUDGEO_WPS_SANDBOX":
        "best-effort", "CLOUDGEO_WPS_MAX_JOBS_PER_CALLER": "3"})
    assert settings.max_job_scratch == 2**30 and settings.max_output_size == 10
    assert settings.input_formats_include == ("netCDF", "HDF5")
    assert settings.sandbox == "best-effort" and settings.max_jobs_per_caller == 3
    defaults = WpsSettings.from_env({})
    assert defaults.sandbox == "required" and defaults.max_jobs_per_caller == 100
    with pytest.raises(SettingsError, match="CLOUDGEO_WPS_SANDBOX='off'"):
        WpsSettings.from_env({"CLOUDGEO_WPS_SANDBOX": "off"})
    with pytest.raises(SettingsError, match="CLOUDGEO_WPS_MAX_JOB_SCRATCH"):
        WpsSettings.from_env({"CLOUDGEO_WPS_MAX_JOB_SCRATCH": "1000"})


def test_the_allow_list_is_short_and_an_operator_widens_it():
    allowed = allowed_drivers()
    assert {"GTiff", "GPKG", "ESRI Shapefile", "GeoJSON"} <= allowed
    assert not {"VRT", "OGR_VRT", "WMS", "WMTS", "WCS", "MRF", "SQLite", "netCDF"} & allowed
    assert len(allowed) < 25
    assert "netCDF" in allowed_drivers(("netCDF",))


def test_format_problem_names_the_format_and_refuses_overview_files(tmp_path):
    allowed = allowed_drivers()
    for layer in hostile_layers("/etc/passwd", "http://127.0.0.1:1/x"):
        path = tmp_path / layer.filename
        path.write_bytes(layer.content)
        problem = format_problem(str(path), allowed)
        assert problem and layer.driver in problem and "not accepted" in problem
        assert format_problem(str(path), allowed | {layer.driver}) is None
    for layer in allowed_driver_layers("/etc/passwd", "http://127.0.0.1:1/x"):
        path = tmp_path / layer.filename
        path.write_bytes(layer.content)
        problem = format_problem(str(path), allowed)
        if layer.driver in ("GTiff", "JP2OpenJPEG"):
            assert problem and "OVERVIEW_FILE" in problem
        else:  # the sandbox is what stops these (tests/integration/test_hostile_layers.py)
            assert problem is None
    plain = tmp_path / "notes.txt"
    plain.write_text("not a layer at all")
    assert format_problem(str(plain), allowed) is None


def test_files_belong_to_their_owner_with_authentication():
    alice = file_caller({"X-User": "alice"}, "X-User", frozenset({"root"}))
    assert alice == FileCaller("alice") and alice.may_act_on("alice")
    assert not alice.may_act_on("bob") and alice.may_act_on(None)  # unowned: everyone's
    assert file_caller({"X-User": "root"}, "X-User", frozenset({"root"})).may_act_on("bob")
    assert file_caller({"X-User": "alice"}, "", frozenset()).may_act_on("bob")  # no auth
    with pytest.raises(ApiError) as refused:
        file_caller({}, "X-User", frozenset())
    assert refused.value.status == 401
