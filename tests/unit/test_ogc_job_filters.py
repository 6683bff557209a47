"""The OGC job-list parameters as a JobQuery, and the index keys a job lives in: pure."""

from __future__ import annotations

import pytest
from werkzeug.datastructures import MultiDict

from cloudgeo.common.envelope import ApiError
from cloudgeo.wpsnode.api.ogc.job_filters import job_query
from cloudgeo.wpsnode.jobs.joblist import (
    ALL_JOBS,
    JobQuery,
    duration_bucket,
    duration_index_key,
    finished_keys,
    index_key,
    keys_of,
    status_moves,
)


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


def test_a_finished_job_is_in_the_duration_bucket_sets_of_its_duration():
    assert [duration_bucket(s) for s in (0, 0.99, 1, 59.9, 60, 86400, 1e9)] == [
        0, 0, 1, 2, 3, 6, 6]
    keys = finished_keys("native:buffer", "alice", "failed", 75.0)
    assert len(set(keys)) == 8 and all(key.startswith("cloudgeo:jobs:dx3:") for key in keys)
    # minDuration=60 on one process: buckets 3..6 of that process, and its running jobs;
    # the accepted ones (who have run 0 s) are left out.
    query = JobQuery(min_duration=60, process_ids=frozenset({"native:buffer"}))
    assert query.keys() == [duration_index_key(None, None, "native:buffer", b)
                            for b in (3, 4, 5, 6)] + [
        index_key(None, "running", "native:buffer")]
    # A range inside one bucket reads that bucket only; accepted jobs join at 0 s.
    assert JobQuery(min_duration=0, max_duration=0.5).keys() == [
        duration_index_key(None, None, None, 0), index_key(None, "running", None),
        index_key(None, "accepted", None)]
    assert JobQuery(max_duration=9, statuses=frozenset({"failed"})).keys() == [
        duration_index_key(None, "failed", None, b) for b in (0, 1)]


def test_hostile_duration_filters_reach_no_other_set():
    # NaN passes no comparison: refused, where it would have picked no bucket at all.
    with pytest.raises(ApiError) as refused:
        query(minDuration="nan")
    assert refused.value.status == 400 and refused.value.field == "minDuration"
    # An endless minimum reads the top bucket and the running jobs, nothing more.
    assert query(minDuration="1e400").keys() == [duration_index_key(None, None, None, 6),
                                                 index_key(None, "running", None)]
    # A user name with the separator in it cannot reach another user's bucket set.
    assert finished_keys("p", "a:b", "failed", 75.0)[4] != finished_keys(
        "b", "a", "failed", 75.0)[4]
