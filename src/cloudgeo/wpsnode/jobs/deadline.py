"""When a running job is past its time limit for good: a pure rule, no I/O.

The worker's pool kills a job at its hard limit and records the timeout itself; this
rule is for the job whose worker died silently, which only the sweeper (and a writer
about to act on the job) ends. Reading a record never ends it.
"""

from __future__ import annotations

from cloudgeo.wpsnode.jobs.record import RUNNING, JobRecord

# How long past its deadline a running job may stay silent before it is called
# failed: the worker's own hard limit normally ends it first.
DEADLINE_GRACE = 30.0


def overdue(record: JobRecord, now: float) -> bool:
    """Whether a running job's deadline and grace have both passed."""
    return bool(record.status == RUNNING and record.deadline
                and now > record.deadline + DEADLINE_GRACE)


def timeout_message(record: JobRecord) -> str:
    return f"the job exceeded its time limit of {record.timeLimit:g} s and was stopped"
