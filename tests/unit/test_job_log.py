"""A job's log (GET /jobs/{id}/log) as the QGIS process keeps it: QGIS's feedback
messages, bounded, shipped while the job runs (tests/integration/test_job_log.py:
in Redis and over HTTP)."""

from __future__ import annotations

import time

from cloudgeo.wpsnode.worker.progress import (
    LOG_LINE_CHARS,
    JobLog,
    ProgressReporter,
    job_feedback,
)


def test_the_log_keeps_its_first_lines_and_says_how_many_it_dropped():
    log = JobLog(max_lines=3)
    log.add("INFO", "one\ntwo")
    assert log.take() == ["INFO: one", "INFO: two"]
    log.add("WARNING", "three")
    log.add("INFO", "four")
    log.add("INFO", "x" * (LOG_LINE_CHARS + 50))
    assert log.take() == ["WARNING: three"]  # only what was not taken yet
    assert log.take(final=True) == ["(log cut: 2 more lines not kept)"]


def test_qgis_feedback_messages_land_in_the_log():
    feedback = job_feedback()
    feedback.pushInfo("reading layer")
    feedback.pushWarning("3 invalid geometries skipped")
    feedback.pushCommandInfo("gdal_translate -of GTiff in.tif out.tif")
    feedback.pushConsoleInfo("0...10...20...done")
    feedback.reportError("could not write out.tif")
    assert feedback.log.take(final=True) == [
        "INFO: reading layer", "WARNING: 3 invalid geometries skipped",
        "COMMAND: gdal_translate -of GTiff in.tif out.tif", "CONSOLE: 0...10...20...done",
        "ERROR: could not write out.tif"]
    assert feedback.failure_detail() == "could not write out.tif"


def test_lines_are_shipped_while_the_job_runs():
    feedback, shipped = job_feedback(), []
    with ProgressReporter(feedback, lambda percent: None, interval=0.01,
                          report_log=shipped.extend):
        feedback.pushInfo("first")
        time.sleep(0.08)
        assert shipped == ["INFO: first"]
        feedback.pushInfo("second")
        time.sleep(0.08)
    assert shipped == ["INFO: first", "INFO: second"]
    assert feedback.log.take(final=True) == []  # nothing left for the answer
