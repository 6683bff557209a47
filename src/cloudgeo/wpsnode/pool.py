"""What the HTTP tier knows of its node's QGIS workers: their heartbeats in Redis."""

from __future__ import annotations

import json

import redis

from cloudgeo.wpsnode.worker_keys import starts_key, workers_key


def live_workers(client: redis.Redis, node_id: str) -> dict[int, dict]:
    """pid -> heartbeat of every worker of the node whose heartbeat has not expired."""
    prefix = f"{workers_key(node_id)}:"
    keys = list(client.scan_iter(match=f"{prefix}*", count=100))
    if not keys:
        return {}
    values = client.mget(keys)
    return {int(k.decode()[len(prefix):]): json.loads(v)
            for k, v in zip(keys, values, strict=True) if v}


def worker_starts(client: redis.Redis, node_id: str) -> int:
    return int(client.get(starts_key(node_id)) or 0)
