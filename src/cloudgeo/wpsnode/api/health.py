"""The node's health without a web framework: whether it can take work (a QGIS worker
up, its job consumer running, Redis reachable, not draining), as the seed's envelope."""

from __future__ import annotations

import redis

from cloudgeo.wpsnode.api.jobs_api import Answer, failure, ok
from cloudgeo.wpsnode.jobs.keys import node_alive_key
from cloudgeo.wpsnode.jobs.pool import live_workers
from cloudgeo.wpsnode.jobs.service import JobService
from cloudgeo.wpsnode.settings import WpsSettings


def node_health(settings: WpsSettings, client: redis.Redis, service: JobService) -> Answer:
    """200 when the node can run jobs; else 503 saying what is missing (a load balancer
    sends nothing to a node that answers 503)."""
    if settings.server.draining():
        return Answer(503, {}, failure("shutting down", {"node": settings.node_id}))
    try:
        workers = live_workers(client, settings.node_id)
        consuming = client.exists(node_alive_key(settings.node_id))
    except redis.RedisError as exc:
        return Answer(503, {}, failure(f"the job store is unreachable: {exc}"))
    data = {"node": settings.node_id, "processes": len(service.catalog.processes),
            "qgisWorkers": len(workers),
            "busyWorkers": sum(1 for w in workers.values() if w.get("busy"))}
    if not workers:
        return Answer(503, {}, failure("no QGIS worker of this node is up yet", data))
    if not consuming:  # its jobs would be taken for a dead node's and moved
        return Answer(503, {}, failure("this node's job consumer is not running", data))
    return ok(data, msg="ok")
