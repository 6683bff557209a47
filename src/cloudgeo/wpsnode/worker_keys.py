"""Redis keys through which a node's QGIS workers make themselves known."""


def workers_key(node_id: str) -> str:
    return f"cloudgeo:workers:{node_id}"


def starts_key(node_id: str) -> str:
    return f"cloudgeo:worker-starts:{node_id}"
