"""A running job's progress and log, carried from its QGIS feedback to its record.

A slot on `progressChanged` runs Python for every step an algorithm reports: once per
feature in most of them (a thousand times for a 1,000-point buffer, about 5 ms of a
70 ms job, measured). QGIS releases the GIL while an algorithm runs, so a thread that
reads `feedback.progress()` a few times a second sees the same progress for nothing
per feature, and a job shorter than one interval writes no progress at all.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)
PROGRESS_INTERVAL = 0.5  # seconds between two reads of the feedback
# A job's log (GET /jobs/{id}/log) keeps QGIS's messages up to these bounds: an
# algorithm that reports every feature must not fill Redis.
LOG_LINES = 2000
LOG_LINE_CHARS = 2000


class JobLog:
    """The job's messages as QGIS reports them, bounded: the first LOG_LINES lines are
    kept, then one line saying how many more there were. `take` hands over the lines
    not yet taken (thread-safe: the progress thread ships them while the job runs)."""

    def __init__(self, max_lines: int = LOG_LINES) -> None:
        self.max_lines = max_lines
        self.lines: list[str] = []
        self.dropped = 0
        self.taken = 0
        self.lock = threading.Lock()

    def add(self, kind: str, text: str) -> None:
        with self.lock:
            for line in text.splitlines() or [""]:
                if len(self.lines) < self.max_lines:
                    self.lines.append(f"{kind}: {line[:LOG_LINE_CHARS]}".rstrip())
                else:
                    self.dropped += 1

    def take(self, final: bool = False) -> list[str]:
        with self.lock:
            new = self.lines[self.taken:]
            self.taken = len(self.lines)
            if final and self.dropped:
                new.append(f"(log cut: {self.dropped} more lines not kept)")
            return new


class ProgressReporter:
    """While in use (`with`), reports the feedback's progress as a whole percentage,
    0-99, whenever it changed since the last read."""

    def __init__(self, feedback, report: Callable[[int], None],
                 interval: float = PROGRESS_INTERVAL,
                 report_log: Callable[[list[str]], None] | None = None) -> None:
        self.feedback, self.report, self.interval = feedback, report, interval
        self.report_log = report_log
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="progress")

    def __enter__(self) -> ProgressReporter:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        last = 0  # the record starts at 0
        while not self._stop.wait(self.interval):
            percent = min(99, max(0, int(self.feedback.progress())))
            try:
                if self.report_log is not None:
                    lines = self.feedback.log.take()
                    if lines:
                        self.report_log(lines)
                if percent != last:
                    self.report(percent)
                    last = percent
            except Exception as exc:  # progress is a courtesy: the job goes on
                log.warning("progress of a job not recorded: %s", exc)


def job_feedback():
    """A QgsProcessingFeedback that keeps errors and the job's log (its progress is read
    by a ProgressReporter). QGIS is imported here: only the QGIS process calls this."""
    from qgis.core import QgsProcessingFeedback

    class JobFeedback(QgsProcessingFeedback):
        def __init__(self) -> None:
            super().__init__()
            self.errors: list[str] = []
            self.console: list[str] = []
            self.log = JobLog()

        def reportError(self, error: str, fatalError: bool = False) -> None:
            self.errors.append(error.strip())
            self.log.add("ERROR", error)
            super().reportError(error, fatalError)

        def pushInfo(self, info: str) -> None:
            self.log.add("INFO", info)
            super().pushInfo(info)

        def pushWarning(self, warning: str) -> None:
            self.log.add("WARNING", warning)
            super().pushWarning(warning)

        def pushCommandInfo(self, info: str) -> None:
            self.log.add("COMMAND", info)
            super().pushCommandInfo(info)

        def pushConsoleInfo(self, info: str) -> None:
            # External tools (GDAL, GRASS, OTB) report their failures only here.
            self.console = [*self.console[-19:], info.strip()]
            self.log.add("CONSOLE", info)
            super().pushConsoleInfo(info)

        def failure_detail(self) -> str:
            lines = [e for e in self.errors if e] or [line for line in self.console if line]
            return "; ".join(lines[-5:])

    return JobFeedback()
