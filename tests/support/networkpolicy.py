"""Kubernetes NetworkPolicy semantics (networking.k8s.io/v1), evaluated here.

The bridge CNI plugin of the pods test does not enforce NetworkPolicies, so nothing
there would notice a policy that blocks traffic the service needs; a user whose CNI
enforces them (Calico, Cilium...) would. This decides, as such a CNI does, whether a
TCP connection between two pods is allowed: by the server pod's Ingress policies and
by the client pod's Egress policies, each side allowed when no policy of that type
selects the pod, else when any rule of any selecting policy admits the peer and port.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Pod:
    name: str
    namespace: str
    ip: str
    labels: dict[str, str]
    ports: dict[str, int] = field(default_factory=dict)  # named container ports
    namespace_labels: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_object(cls, pod: dict, namespace_labels: dict[str, str] | None = None) -> Pod:
        ports = {port["name"]: port["containerPort"]
                 for container in pod["spec"]["containers"]
                 for port in container.get("ports") or [] if port.get("name")}
        return cls(pod["metadata"]["name"], pod["metadata"]["namespace"],
                   pod["status"].get("podIP", ""), pod["metadata"].get("labels") or {},
                   ports, namespace_labels or {})


def selects(selector: dict | None, labels: dict[str, str]) -> bool:
    """A LabelSelector: matchLabels and matchExpressions, all of them ({} selects all)."""
    selector = selector or {}
    if any(labels.get(key) != value for key, value in
           (selector.get("matchLabels") or {}).items()):
        return False
    for expression in selector.get("matchExpressions") or []:
        key, operator = expression["key"], expression["operator"]
        values = expression.get("values") or []
        present = key in labels
        if not {"In": present and labels[key] in values,
                "NotIn": not present or labels[key] not in values,
                "Exists": present, "DoesNotExist": not present}[operator]:
            return False
    return True


def _peer_admits(peer: dict, other: Pod, policy_namespace: str) -> bool:
    if "ipBlock" in peer:
        address = ipaddress.ip_address(other.ip)
        block = peer["ipBlock"]
        return (address in ipaddress.ip_network(block["cidr"]) and not any(
            address in ipaddress.ip_network(cidr) for cidr in block.get("except") or []))
    if "namespaceSelector" in peer:
        if not selects(peer["namespaceSelector"], other.namespace_labels):
            return False
    elif other.namespace != policy_namespace:
        return False
    return selects(peer.get("podSelector"), other.labels)


def _port_admits(ports: list[dict] | None, port: int, target: Pod) -> bool:
    if not ports:
        return True
    for entry in ports:
        if entry.get("protocol", "TCP") != "TCP":
            continue
        wanted = entry.get("port")
        if wanted is None:
            return True
        number = target.ports.get(wanted) if isinstance(wanted, str) else wanted
        if number is not None and number <= port <= entry.get("endPort", number):
            return True
    return False


def _side_allows(policies: list[dict], pod: Pod, kind: str, other: Pod, port: int,
                 target: Pod) -> tuple[bool, list[str]]:
    """(allowed, the names of the policies that decided) for one side of a connection."""
    rules_key, peers_key = ("ingress", "from") if kind == "Ingress" else ("egress", "to")
    selecting = [p for p in policies if p["metadata"]["namespace"] == pod.namespace
                 and kind in p["spec"].get("policyTypes", ["Ingress"])
                 and selects(p["spec"].get("podSelector"), pod.labels)]
    names = [p["metadata"]["name"] for p in selecting]
    for policy in selecting:
        for rule in policy["spec"].get(rules_key) or []:
            peers = rule.get(peers_key)
            if (not peers or any(_peer_admits(peer, other, policy["metadata"]["namespace"])
                                 for peer in peers)) \
                    and _port_admits(rule.get("ports"), port, target):
                return True, names
    return not selecting, names


def refusal(policies: list[dict], client: Pod, server: Pod, port: int) -> str | None:
    """Why an enforcing CNI would refuse this TCP connection, or None if it allows it."""
    allowed, names = _side_allows(policies, server, "Ingress", client, port, server)
    if not allowed:
        return f"{server.name}'s ingress ({', '.join(names)}) refuses {client.name} on {port}"
    allowed, names = _side_allows(policies, client, "Egress", server, port, server)
    if not allowed:
        return f"{client.name}'s egress ({', '.join(names)}) refuses {server.name}:{port}"
    return None

