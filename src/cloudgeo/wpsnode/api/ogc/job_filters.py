"""The OGC API – Processes 1.0 job-list parameters (status, processID, type, datetime,
minDuration, maxDuration, limit, offset) as a JobQuery: pure."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from cloudgeo.common.envelope import ApiError
from cloudgeo.wpsnode.api.ogc.shapes import STATUS_FROM_OGC
from cloudgeo.wpsnode.jobs.joblist import JobQuery

JOB_TYPE = "process"  # the only type of job this service runs
NOTHING = frozenset({""})  # matches no job: a type other than "process" was asked for


def _values(get_list: Callable[[str], list[str]], name: str) -> list[str]:
    """Repeated and comma-separated values (`status=failed,dismissed`)."""
    return [v.strip() for raw in get_list(name) for v in raw.split(",") if v.strip()]


def _instant(raw: str, field: str) -> float:
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise ApiError(400, f"'{field}' must be an RFC 3339 date-time or an interval "
                            f"'start/end' ('..' for open), not {raw!r}", field=field) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _interval(raw: str) -> tuple[float | None, float | None]:
    if "/" not in raw:
        moment = _instant(raw, "datetime")
        return moment, moment
    start, end = raw.split("/", 1)
    low = None if start in ("", "..") else _instant(start, "datetime")
    high = None if end in ("", "..") else _instant(end, "datetime")
    if low is not None and high is not None and low > high:
        raise ApiError(400, f"'datetime': the interval {raw!r} ends before it starts",
                       field="datetime")
    return low, high


def _seconds(raw: str | None, field: str) -> float | None:
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value >= 0:
        raise ApiError(400, f"'{field}' must be a number of seconds >= 0, not {raw!r}",
                       field=field)
    return value


def job_query(args, limit: int, offset: int) -> JobQuery:
    """`args`: the request's query (getlist and get, as Flask's MultiDict)."""
    statuses = _values(args.getlist, "status")
    unknown = sorted(set(statuses) - set(STATUS_FROM_OGC))
    if unknown:
        raise ApiError(400, f"'status': unknown {unknown}; use {sorted(STATUS_FROM_OGC)}",
                       field="status")
    types = _values(args.getlist, "type")
    processes = frozenset(_values(args.getlist, "processID"))
    if types and JOB_TYPE not in types:
        processes = NOTHING
    low, high = _interval(args["datetime"]) if args.get("datetime") else (None, None)
    shortest = _seconds(args.get("minDuration"), "minDuration")
    longest = _seconds(args.get("maxDuration"), "maxDuration")
    if shortest is not None and longest is not None and shortest > longest:
        raise ApiError(400, "'minDuration' must not exceed 'maxDuration'", field="minDuration")
    return JobQuery(statuses=frozenset(STATUS_FROM_OGC[s] for s in statuses),
                    process_ids=processes, created_from=low, created_to=high,
                    min_duration=shortest, max_duration=longest, limit=limit, offset=offset)
