"""What the HTTP tier knows of its node's QGIS workers: their heartbeats in Redis."""

from __future__ import annotations

import json

import redis

from cloudgeo.common.processes import pid_alive
from cloudgeo.wpsnode.jobs.keys import starts_key, workers_key
from cloudgeo.wpsnode.jobs.store import UNFINISHED


def live_workers(client: redis.Redis, node_id: str) -> dict[int, dict]:
    """pid -> heartbeat of every live worker of the node.

    The HTTP tier runs beside its workers (same host or pod), so a heartbeat whose
    process is gone is skipped at once rather than trusted until it expires.
    """
    prefix = f"{workers_key(node_id)}:"
    keys = list(client.scan_iter(match=f"{prefix}*", count=100))
    if not keys:
        return {}
    values = client.mget(keys)
    beats = {int(k.decode()[len(prefix):]): json.loads(v)
             for k, v in zip(keys, values, strict=True) if v}
    return {pid: beat for pid, beat in beats.items() if pid_alive(pid)}


def worker_starts(client: redis.Redis, node_id: str) -> int:
    return int(client.get(starts_key(node_id)) or 0)


class PoolCollector:
    """Busy and idle QGIS workers and worker starts, read from Redis at scrape time; and
    the cluster's queue depth and unfinished jobs (the same on every node: take the max)."""

    def __init__(self, client: redis.Redis, node_id: str, pool_size: int,
                 queue: str = "cloudgeo.jobs") -> None:
        self.client, self.node_id, self.pool_size = client, node_id, pool_size
        self.queue = queue

    def collect(self):
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        try:
            workers = live_workers(self.client, self.node_id)
            starts = worker_starts(self.client, self.node_id)
            queued = self.client.llen(self.queue)
            unfinished = self.client.scard(UNFINISHED)
        except redis.RedisError:
            return
        busy = sum(1 for w in workers.values() if w.get("busy"))
        gauge = GaugeMetricFamily("cloudgeo_wps_workers", "QGIS worker processes of this node",
                                  labels=["node", "state"])
        gauge.add_metric([self.node_id, "busy"], busy)
        gauge.add_metric([self.node_id, "idle"], len(workers) - busy)
        yield gauge
        started = CounterMetricFamily("cloudgeo_wps_worker_starts",
                                      "QGIS worker processes started since the node started",
                                      labels=["node"])
        started.add_metric([self.node_id], starts)
        yield started
        restarts = CounterMetricFamily(
            "cloudgeo_wps_worker_restarts",
            "QGIS worker processes replaced (recycled, crashed or timed out)", labels=["node"])
        restarts.add_metric([self.node_id], max(0, starts - self.pool_size))
        yield restarts
        yield GaugeMetricFamily("cloudgeo_wps_queue_depth",
                                "Jobs waiting in the cluster's queue for a QGIS worker",
                                value=queued)
        yield GaugeMetricFamily("cloudgeo_wps_jobs_unfinished",
                                "Jobs of the cluster accepted or running", value=unfinished)
