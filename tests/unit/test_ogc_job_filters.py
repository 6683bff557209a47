"""The OGC job-list parameters as a JobQuery, and the index keys a job lives in: pure."""

from __future__ import annotations

import pytest
from werkzeug.datastructures import MultiDict

from cloudgeo.common.envelope import ApiError
from cloudgeo.wpsnode.api.ogc.job_filters import job_query
from cloudgeo.wpsnode.jobs.joblist import ALL_JOBS, JobQuery, keys_of, status_moves


def query(**args) -> JobQuery:
    return job_query(MultiDict(args), limit=10, offset=0)


def test_parameters_become_the_query():
    q = job_query(MultiDict([("status", "successful,failed"), ("status", "dismissed"),
                             ("processID", "native:buffer"), ("type", "process"),
                             ("datetime", "2026-12-01T00:00:00Z/.."),
                             ("minDuration", "2"), ("maxDuration", "60")]), 10, 20)
    assert q.statuses == {"succeeded", "failed", "dismissed"}
    assert q.process_ids == {"native:buffer"}
    assert (q.created_from, q.created_to) == (1796083200.0, None)
    assert (q.min_duration, q.max_duration, q.limit, q.offset) == (2, 60, 10, 20)
    assert query(datetime="2026-12-01T00:00:00Z").created_to == 1796083200.0
    assert query(type="openeo").process_ids == {""}  # no job has that process id


@pytest.mark.parametrize(("args", "field"), [
    ({"status": "done"}, "status"), ({"datetime": "soon"}, "datetime"),
    ({"datetime": "2026-12-02T00:00:00Z/2026-12-01T00:00:00Z"}, "datetime"),
    ({"minDuration": "-3"}, "minDuration"), ({"maxDuration": "long"}, "maxDuration"),
    ({"minDuration": "9", "maxDuration": "1"}, "minDuration")])
def test_bad_parameters_are_a_400_naming_them(args, field):
    with pytest.raises(ApiError) as refused:
        query(**args)
    assert refused.value.status == 400 and refused.value.field == field


def test_a_job_is_in_eight_sets_and_a_status_change_moves_four():
    keys = keys_of("native:buffer", "alice", "running")
    assert len(set(keys)) == 8 and ALL_JOBS in keys
    assert len(set(keys_of("native:buffer", None, "running"))) == 4
    added, removed = status_moves("native:buffer", "alice", "failed")
    assert len(added) == 4 and not set(added) & set(removed)
    assert set(added) <= set(keys_of("native:buffer", "alice", "failed"))
    assert not set(removed) & set(keys_of("native:buffer", "alice", "failed"))
    # A user name with the separator in it cannot reach another user's set.
    assert keys_of("p", "a:b", "failed")[4] != keys_of("b", "a", "failed")[4]
