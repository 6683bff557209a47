"""NetworkPolicies: each CloudGeo pod talks only to what its job needs. Pure.

- Redis, MinIO and Consul accept connections only from this cluster's CloudGeo pods.
- The file service and the WPS nodes accept only the gateway (and Prometheus, for
  /metrics, and, with the Consul registry, Consul's HTTP health checks of /health;
  kubelet probes are not subject to NetworkPolicies).
- The gateway accepts anyone on its web port (it is the public entry point) and
  Prometheus on its metrics port; it reaches only the nodes, the file service, the
  registry and DNS (and, with forward authentication, its identity proxy).
- The WPS nodes reach Redis, object storage, the file service, the registry and DNS;
  with external object storage, public addresses on its port (no private, link-local
  or metadata range); with callbacks on, public addresses on the ports subscribers may
  be called back on (80 and 443 for `*`, the port of each named host).
"""

from __future__ import annotations

from typing import Any

from cloudgeo.operator.builders.common import (
    CONSUL_PORT,
    FILE_PORT,
    GATEWAY_METRICS_PORT,
    GATEWAY_PORT,
    REDIS_PORT,
    WPS_PORT,
    ClusterView,
    metadata,
    selector_labels,
)
from cloudgeo.wpsnode.inputs.href_guard import HrefPolicy

PROMETHEUS = {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "prometheus"}},
              "namespaceSelector": {}}
DNS = {"to": [{"namespaceSelector": {}, "podSelector": {
    "matchLabels": {"k8s-app": "kube-dns"}}}],
       "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]}
# Public addresses only: never the cluster's own ranges or cloud metadata.
PUBLIC = {"ipBlock": {"cidr": "0.0.0.0/0", "except": [
    "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16", "100.64.0.0/10",
    "127.0.0.0/8"]}}


def _pods(cluster: ClusterView, component: str | None = None) -> dict[str, Any]:
    """A peer: one component's pods, or (None) every CloudGeo pod of this cluster."""
    if component is None:
        return {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "cloudgeo",
                                                "app.kubernetes.io/instance": cluster.name}}}
    return {"podSelector": {"matchLabels": selector_labels(cluster, component)}}


def _tcp(*ports: int) -> list[dict[str, Any]]:
    return [{"protocol": "TCP", "port": port} for port in ports]


def _policy(cluster: ClusterView, component: str, ingress: list[dict[str, Any]],
            egress: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"podSelector": {"matchLabels": selector_labels(cluster, component)},
                            "policyTypes": ["Ingress"], "ingress": ingress}
    if egress is not None:
        spec["policyTypes"].append("Egress")
        spec["egress"] = egress
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": metadata(cluster, component), "spec": spec}


def _to(cluster: ClusterView, component: str, port: int) -> dict[str, Any]:
    """An egress rule: to one component's pods, on one TCP port."""
    return {"to": [_pods(cluster, component)], "ports": _tcp(port)}


def _registry_egress(cluster: ClusterView) -> dict[str, Any]:
    if cluster.spec["registry"]["type"] == "consul":
        return _to(cluster, "consul", CONSUL_PORT)
    return _to(cluster, "redis", REDIS_PORT)


def _storage_egress(cluster: ClusterView) -> dict[str, Any]:
    storage = cluster.spec["objectStorage"]
    store = cluster.object_store()
    if store is not None:
        return _to(cluster, *store)
    endpoint = storage["external"]["endpoint"]
    port = int(endpoint.rsplit(":", 1)[1]) if ":" in endpoint else \
        (443 if storage["external"].get("secure", True) else 80)
    return {"to": [PUBLIC], "ports": _tcp(port)}


def callback_ports(hosts: list[str]) -> list[int]:
    """The ports the nodes post callbacks to: 80 and 443 for any public host (`*`), and
    the port of each host the list names."""
    ports = set()
    for host in hosts:
        try:
            (entry,) = HrefPolicy.from_urls([host]).allowed
        except ValueError:  # not a host:port (the nodes refuse it too): no port opened
            continue
        if entry == "*":
            ports |= {80, 443}
        else:
            ports.add(int(entry.rsplit(":", 1)[1]))
    return sorted(ports)


def _callback_egress(cluster: ClusterView) -> list[dict[str, Any]]:
    ports = callback_ports(cluster.spec["wpsNodes"]["callbacks"]["hosts"])
    return [{"to": [PUBLIC], "ports": _tcp(*ports)}] if ports else []


def network_policies(cluster: ClusterView) -> list[dict[str, Any]]:
    ours = [_pods(cluster)]
    gateway = [_pods(cluster, "gateway")]
    stores = [_policy(cluster, "redis", [{"from": ours, "ports": _tcp(REDIS_PORT)}])]
    store = cluster.object_store()
    if store is not None:
        component, port = store
        stores.append(_policy(cluster, component, [{"from": ours, "ports": _tcp(port)}]))
    if cluster.spec["registry"]["type"] == "consul":
        stores.append(_policy(cluster, "consul", [{"from": ours,
                                                   "ports": _tcp(CONSUL_PORT)}]))
    services_egress = [DNS, _registry_egress(cluster)]
    # Consul checks each registered instance's /health itself: refused, no node or file
    # service would ever pass, and the gateway (which routes to passing ones) to none.
    checked_by = ([[_pods(cluster, "consul")]]
                  if cluster.spec["registry"]["type"] == "consul" else [])
    # The nodes' job store is Redis whatever the registry (listed once when it is both).
    job_store = _to(cluster, "redis", REDIS_PORT)
    nodes = _policy(cluster, "wps-node",
                    [{"from": gateway, "ports": _tcp(WPS_PORT)},
                     {"from": [PROMETHEUS], "ports": _tcp(WPS_PORT)},
                     *({"from": peers, "ports": _tcp(WPS_PORT)} for peers in checked_by)],
                    [*services_egress, *([job_store] if job_store not in services_egress
                                         else []),
                     _storage_egress(cluster), _to(cluster, "file-service", FILE_PORT),
                     _to(cluster, "gateway", GATEWAY_PORT), *_callback_egress(cluster)])
    files = _policy(cluster, "file-service",
                    [{"from": gateway, "ports": _tcp(FILE_PORT)},
                     {"from": [PROMETHEUS], "ports": _tcp(FILE_PORT)},
                     *({"from": peers, "ports": _tcp(FILE_PORT)} for peers in checked_by)],
                    [*services_egress, _storage_egress(cluster)])
    front = _policy(cluster, "gateway",
                    [{"ports": _tcp(GATEWAY_PORT)},
                     {"from": [PROMETHEUS], "ports": _tcp(GATEWAY_METRICS_PORT)}],
                    [*services_egress, _to(cluster, "wps-node", WPS_PORT),
                     _to(cluster, "file-service", FILE_PORT)])
    return [*stores, nodes, files, front]
