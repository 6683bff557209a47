"""The node's own routes' logic without Redis: /health (api/health.py), 200 only when a
QGIS worker is up and the node's job consumer runs, else 503 in the seed's envelope
saying what is missing, and the route on the node's app in the test's process; a WPS
statusLocation rendered for its caller only (job service on tests/support/job_fakes)."""

from __future__ import annotations

import json
import os
from types import SimpleNamespace

import pytest
import redis

from cloudgeo.common.answer import Answer
from cloudgeo.wpsnode.api.health import node_health
from cloudgeo.wpsnode.api.wps10_status import status_location
from cloudgeo.wpsnode.caller import Caller
from cloudgeo.wpsnode.catalog.store import Catalog
from cloudgeo.wpsnode.jobs.errors import JobNotFound
from cloudgeo.wpsnode.jobs.execute import ExecuteRequest
from cloudgeo.wpsnode.jobs.keys import node_alive_key, workers_key
from cloudgeo.wpsnode.jobs.service import JobService
from tests.support.job_fakes import LAYER, PROCESS, Ports, service
from tests.support.node_app import empty_catalog, node_app

NODE = "node-a"


class HeartbeatRedis:
    """Test double of redis.Redis for the three commands a health check sends (SCAN,
    MGET, EXISTS) over a dict of keys; `down` makes each raise as a dead Redis does."""

    def __init__(self, values: dict[str, str], down: bool = False) -> None:
        self.values, self.down = values, down

    def _reached(self) -> None:
        if self.down:
            raise redis.ConnectionError("Connection refused")

    def scan_iter(self, match: str, count: int):
        self._reached()
        return [k.encode() for k in self.values if k.startswith(match.rstrip("*"))]

    def mget(self, keys):
        return [self.values[k.decode()].encode() for k in keys]

    def exists(self, key: str) -> int:
        self._reached()
        return int(key in self.values)


def settings(draining: bool = False) -> SimpleNamespace:
    return SimpleNamespace(node_id=NODE, server=SimpleNamespace(draining=lambda: draining))


SERVICE = SimpleNamespace(catalog=SimpleNamespace(processes={"native:buffer": {}}))
WORKER = {f"{workers_key(NODE)}:{os.getpid()}": json.dumps({"busy": True})}
ALIVE = {node_alive_key(NODE): "1"}


def test_a_node_with_a_worker_and_its_consumer_is_healthy():
    answer = node_health(settings(), HeartbeatRedis({**WORKER, **ALIVE}), SERVICE)
    assert answer.status == 200 and answer.headers == {}
    assert answer.body == {"success": True, "msg": "ok", "data": {
        "node": NODE, "processes": 1, "qgisWorkers": 1, "busyWorkers": 1}}


@pytest.mark.parametrize(("values", "draining", "message", "data"), [
    ({**WORKER, **ALIVE}, True, "shutting down", {"node": NODE}),
    (ALIVE, False, "no QGIS worker of this node is up yet",
     {"node": NODE, "processes": 1, "qgisWorkers": 0, "busyWorkers": 0}),
    (WORKER, False, "this node's job consumer is not running",
     {"node": NODE, "processes": 1, "qgisWorkers": 1, "busyWorkers": 1}),
])
def test_a_node_that_cannot_run_jobs_answers_503_saying_why(values, draining, message,
                                                             data):
    answer = node_health(settings(draining), HeartbeatRedis(values), SERVICE)
    assert answer == Answer(503, {}, {"success": False, "msg": message, "data": data})


def test_a_node_whose_redis_is_down_answers_503():
    answer = node_health(settings(), HeartbeatRedis({}, down=True), SERVICE)
    assert answer == Answer(503, {}, {"success": False, "data": None,
                                      "msg": "the job store is unreachable: Connection refused"})


def test_the_health_route_answers_in_the_seed_envelope_without_identifying_a_caller(
        tmp_path):
    app = node_app(empty_catalog(tmp_path), tmp_path, user_header="X-User")
    answer = app.test_client().get("/health")  # no X-User: /health needs no caller
    assert answer.status_code == 503 and answer.json["success"] is False
    assert answer.json["msg"].startswith("the job store is unreachable: ")
    assert answer.headers["X-CloudGeo-Node"]


def test_a_wps_status_location_renders_the_callers_job_and_no_one_elses():
    ports, ann = Ports(), Caller("ann")
    described = {PROCESS["id"]: {**PROCESS, "description": "Buffers features"}}
    jobs = JobService(service(ports, user_header="X-User").settings,
                      Catalog("3.40", described), jobs=ports.jobs, queue=ports.queue,
                      objects=ports.objects, quota=ports.quota, watchdog=ports.watchdog)
    record = jobs.submit(ExecuteRequest(PROCESS["id"], {"INPUT": LAYER}, mode="async"), ann)
    wps = "http://gw.test/api/wps/wps"
    document = status_location(jobs, record.jobId, ann, wps)
    assert f'statusLocation="{wps}/status/{record.jobId}"' in document
    assert "ProcessAccepted" in document and PROCESS["id"] in document
    with pytest.raises(JobNotFound):
        status_location(jobs, record.jobId, Caller("bob"), wps)
