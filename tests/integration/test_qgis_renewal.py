"""A worker's QGIS process is renewed between jobs without a job waiting for QGIS to
start: a spare starts beside it and takes over once ready (real confined QGIS
processes, run by this test process as a Celery worker would)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from cloudgeo.wpsnode.inputs.layer_formats import allowed_drivers
from cloudgeo.wpsnode.worker.qgis_process import QgisProcess, WorkerFolders, start_message
from tests.support.waiting import wait_for

CAP = 2**30


def grid_job(folder: Path, n: int) -> dict:
    out = folder / f"job-{n}"
    out.mkdir(parents=True, exist_ok=True)
    return {"identifier": "native:creategrid", "layers": {}, "cached": [],
            "literals": {"TYPE": 0, "EXTENT": "0,10,0,10 [EPSG:3857]", "HSPACING": 1,
                         "VSPACING": 1, "CRS": "EPSG:3857"},
            "destinations": {"OUTPUT": str(out / "grid.gpkg")}}


@pytest.fixture()
def qgis(tmp_path):
    folders = WorkerFolders(tmp_path / "worker")
    starts: list[int] = []
    process = QgisProcess(folders, start_message(folders, allowed_drivers(), CAP,
                                                 "best-effort"),
                          on_start=lambda: starts.append(1))
    process.starts = starts
    yield process
    process.stop()


def run(qgis: QgisProcess, n: int) -> None:
    answer = qgis.run(grid_job(qgis.folders.jobs, n), lambda percent: None, CAP)
    assert "results" in answer, answer


def test_a_spare_takes_over_between_jobs_and_the_old_process_goes(qgis):
    run(qgis, 0)
    first, first_folder = qgis.pid, qgis.folder
    qgis.renew()  # starts the spare; the current process keeps serving meanwhile
    assert qgis.spare is not None and qgis.pid == first
    run(qgis, 1)
    assert qgis.pid == first and qgis.jobs_done == 2

    def taken_over():
        qgis.renew()
        return qgis.pid != first

    wait_for(taken_over, 120, "the spare QGIS process to take over")
    assert qgis.spare is None and qgis.jobs_done == 0 and len(qgis.starts) == 2
    with pytest.raises(ProcessLookupError):
        os.kill(first, 0)  # the old one is gone (and reaped)
    assert not first_folder.exists() and qgis.folder.exists()
    run(qgis, 2)
    assert qgis.jobs_done == 1


def test_a_spare_that_dies_is_dropped_and_the_current_process_serves_on(qgis):
    run(qgis, 0)
    first = qgis.pid
    qgis.renew()
    spare = qgis.spare.process
    spare.send_signal(signal.SIGKILL)
    spare.wait(30)
    qgis.renew()  # reads the dead spare's silence: dropped, with its folder
    assert qgis.spare is None and qgis.pid == first
    run(qgis, 1)
    qgis.renew()  # and another is started
    assert qgis.spare is not None and qgis.spare.process.pid != spare.pid


def test_a_spare_that_cannot_even_start_is_dropped_without_harm(qgis, monkeypatch):
    run(qgis, 0)
    first = qgis.pid
    # A spare whose program exits at once, before it is told anything: the start
    # message finds the pipe closed (EPIPE).
    monkeypatch.setattr(sys, "executable", "/bin/false")
    popen = subprocess.Popen

    def exited_at_once(*args, **kwargs):
        process = popen(*args, **kwargs)
        process.wait(30)
        return process

    monkeypatch.setattr(subprocess, "Popen", exited_at_once)
    qgis.renew()  # does not raise into the job that called it
    monkeypatch.setattr(subprocess, "Popen", popen)
    spare = qgis.spare
    spare.process.wait(30)
    qgis.renew()  # its silence read: dropped
    assert qgis.spare is None and qgis.pid == first
    monkeypatch.undo()
    run(qgis, 1)  # the current process serves on
