"""ProgressReporter: a job's progress read from its feedback by a thread (no slot
called per feature). The feedback here is a stand-in object with QGIS's progress()."""

from __future__ import annotations

import time

from cloudgeo.wpsnode.worker.progress import ProgressReporter


class SteppingFeedback:
    """Stands in for QgsProcessingFeedback: only progress() is read."""

    def __init__(self) -> None:
        self.value = 0.0

    def progress(self) -> float:
        return self.value


def test_changes_are_reported_capped_below_100_and_stop_with_the_block():
    feedback, seen = SteppingFeedback(), []
    with ProgressReporter(feedback, seen.append, interval=0.01):
        for value in (12.7, 12.9, 55.0, 100.0):
            feedback.value = value
            time.sleep(0.06)
    assert seen == [12, 55, 99]  # 12.9 is no change; 100 is the record's, at the end
    feedback.value = 70
    time.sleep(0.05)
    assert seen == [12, 55, 99]


def test_a_short_job_writes_nothing_and_a_failing_write_is_tried_again():
    feedback, seen, failures = SteppingFeedback(), [], []

    def flaky(percent: int) -> None:
        if not failures:
            failures.append(percent)
            raise ConnectionError("redis went away")
        seen.append(percent)

    with ProgressReporter(feedback, seen.append, interval=0.5):
        feedback.value = 40
    assert seen == []
    with ProgressReporter(feedback, flaky, interval=0.01):
        time.sleep(0.08)
    assert failures == [40] and seen == [40]
