"""A job's log: kept in Redis as long as its record (JobStore), and served to the job's
owner as text by the OGC API and the CloudGeo JSON API, QGIS's messages without the
node's paths (a real node running real GDAL algorithms)."""

from __future__ import annotations

import time

import redis
import requests

from cloudgeo.wpsnode.jobs import store as store_module
from cloudgeo.wpsnode.jobs.record import ACCEPTED, SUCCEEDED, JobRecord
from cloudgeo.wpsnode.jobs.store import JobStore


def _record(job_id: str) -> JobRecord:
    return JobRecord(jobId=job_id, identifier="native:buffer", mode="async",
                     status=ACCEPTED, created=time.time(), plan={})


def test_the_log_lives_as_long_as_its_record_and_goes_with_it(redis_server, monkeypatch):
    client = redis.Redis.from_url(redis_server.url)
    jobs = JobStore(client, result_ttl=600)
    jobs.create(_record("logged"))
    jobs.append_log("logged", ["INFO: started"])
    assert 0 < client.ttl(jobs.log_key("logged")) <= store_module.UNFINISHED_TTL
    jobs.finish("logged", log=["INFO: done"], status=SUCCEEDED)
    assert jobs.log("logged") == ["INFO: started", "INFO: done"]
    # Expires with the record (result_ttl after the end), not a week later.
    assert abs(client.ttl(jobs.log_key("logged")) - client.ttl(jobs.key("logged"))) <= 1
    assert client.ttl(jobs.key("logged")) <= 601
    jobs.remove("logged")
    assert jobs.log("logged") == [] and not client.exists(jobs.log_key("logged"))


def test_the_store_bounds_a_log_whatever_the_worker_sends(redis_server, monkeypatch):
    monkeypatch.setattr(store_module, "MAX_LOG_LINES", 4)
    client = redis.Redis.from_url(redis_server.url)
    jobs = JobStore(client)
    jobs.create(_record("chatty"))
    for batch in range(3):
        jobs.append_log("chatty", [f"INFO: {batch}-{i}" for i in range(3)])
    assert jobs.log("chatty") == ["INFO: 0-0", "INFO: 0-1", "INFO: 0-2", "INFO: 1-0"]
    jobs.remove("chatty")


def test_a_log_for_a_record_already_gone_expires_too(redis_server):
    client = redis.Redis.from_url(redis_server.url)
    jobs = JobStore(client, result_ttl=60)
    jobs.finish("gone", log=["INFO: late"], status=SUCCEEDED)
    assert 0 < client.ttl(jobs.log_key("gone")) <= 60
    client.delete(jobs.log_key("gone"), f"{jobs.key('gone')}:done")


def _calculate(node, samples, band: int) -> requests.Response:
    return requests.post(f"{node.url}/ogcapi/processes/gdal:rastercalculator/execution",
                         timeout=120, json={"inputs": {"INPUT_A": {"href": samples["bands"]},
                                                       "BAND_A": band, "FORMULA": "A*2"}})


def test_a_jobs_log_holds_qgis_messages_without_the_nodes_paths(wps_node, samples,
                                                                 state_root):
    r = _calculate(wps_node, samples, 1)
    assert r.status_code == 200, r.text
    job = r.headers["Location"]
    info = requests.get(job, timeout=10).json()
    (log_link,) = [link for link in info["links"] if link["rel"] == "log"]
    assert log_link["href"] == f"{job}/log" and log_link["type"] == "text/plain"
    log = requests.get(log_link["href"], timeout=10)
    assert log.status_code == 200 and log.headers["Content-Type"].startswith("text/plain")
    assert "COMMAND: gdal_calc" in log.text, log.text
    assert "INPUT_A" in log.text and "OUTPUT" in log.text  # the job's files, by name
    assert str(state_root) not in log.text and "/workers/" not in log.text, log.text
    job_id = job.rsplit("/", 1)[-1]
    seed = requests.get(f"{wps_node.url}/jobs/{job_id}/log", timeout=10)
    assert seed.status_code == 200 and seed.text == log.text


def test_a_failed_jobs_log_says_what_the_tool_said(wps_node, samples):
    r = _calculate(wps_node, samples, 9)  # the GeoTIFF has 4 bands
    assert r.status_code == 500, r.text
    log = requests.get(f"{r.headers['Location']}/log", timeout=10)
    assert log.status_code == 200
    assert any(line.startswith(("ERROR:", "CONSOLE:")) for line in log.text.splitlines()), \
        log.text


def test_an_unknown_jobs_log_is_a_404(wps_node):
    r = requests.get(f"{wps_node.url}/ogcapi/jobs/no-such-job/log", timeout=10)
    assert r.status_code == 404 and "no-such-job" in r.json()["detail"]
    r = requests.get(f"{wps_node.url}/jobs/no-such-job/log", timeout=10)
    assert r.status_code == 404
