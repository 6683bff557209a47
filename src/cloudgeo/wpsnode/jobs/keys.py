"""Redis keys through which a node's QGIS workers make themselves known."""


def workers_key(node_id: str) -> str:
    return f"cloudgeo:workers:{node_id}"


def starts_key(node_id: str) -> str:
    return f"cloudgeo:worker-starts:{node_id}"


def node_alive_key(node_id: str) -> str:
    """Refreshed by the node's Celery main process while it lives (it reaps its own
    crashed workers; only its own death leaves jobs behind)."""
    return f"cloudgeo:node-alive:{node_id}"
