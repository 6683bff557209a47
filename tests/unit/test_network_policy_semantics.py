"""The NetworkPolicies the operator builds, judged as an enforcing CNI would
(tests/support/networkpolicy.py) on pods made from the operator's own pod templates:
the connections CloudGeo's architecture needs are allowed, others refused. The pods test
judges the connections a running cluster really makes the same way."""

from __future__ import annotations

import pytest

from cloudgeo.operator.builders import ClusterView, build_all
from cloudgeo.operator.builders.common import (
    CONSUL_PORT,
    FILE_PORT,
    GATEWAY_PORT,
    REDIS_PORT,
    SEAWEEDFS_PORT,
    WPS_PORT,
)
from tests.support.networkpolicy import Pod, refusal, selects

WORKLOADS = ("Deployment", "StatefulSet")


def cluster_pods(spec: dict) -> tuple[list[dict], dict[str, Pod]]:
    """The policies, and one pod per component as its template would make it."""
    built = build_all(ClusterView.of({"metadata": {"name": "geo", "namespace": "gis",
                                                   "uid": "u", "generation": 1},
                                      "spec": spec}))
    pods = {}
    for number, workload in enumerate(o for o in built if o["kind"] in WORKLOADS):
        template = workload["spec"]["template"]
        pod = {"metadata": {"name": workload["metadata"]["name"], "namespace": "gis",
                            "labels": template["metadata"]["labels"]},
               "spec": template["spec"], "status": {"podIP": f"10.1.0.{number + 2}"}}
        component = template["metadata"]["labels"]["app.kubernetes.io/component"]
        pods[component] = Pod.from_object(pod, {"kubernetes.io/metadata.name": "gis"})
    return [o for o in built if o["kind"] == "NetworkPolicy"], pods


NEEDED = {  # (client, server, port): what each component's work needs, by registry
    "redis": [("gateway", "redis", REDIS_PORT), ("wps-node", "redis", REDIS_PORT),
              ("file-service", "redis", REDIS_PORT)],
    "consul": [("gateway", "consul", CONSUL_PORT), ("wps-node", "consul", CONSUL_PORT),
               ("file-service", "consul", CONSUL_PORT), ("wps-node", "redis", REDIS_PORT),
               # Consul's HTTP health checks of every registered instance
               ("consul", "wps-node", WPS_PORT), ("consul", "file-service", FILE_PORT)],
}
COMMON = [("gateway", "wps-node", WPS_PORT), ("gateway", "file-service", FILE_PORT),
          ("wps-node", "seaweedfs", SEAWEEDFS_PORT),
          ("file-service", "seaweedfs", SEAWEEDFS_PORT)]
# (A node reads a link to the service's own files straight from object storage.)


@pytest.mark.parametrize("registry", ["redis", "consul"])
def test_the_connections_the_architecture_needs_are_allowed(registry):
    policies, pods = cluster_pods({"registry": {"type": registry},
                                   "objectStorage": {"type": "seaweedfs"}})
    refused = [refusal(policies, pods[client], pods[server], port)
               for client, server, port in NEEDED[registry] + COMMON]
    assert [why for why in refused if why] == []


def test_what_no_component_needs_is_refused():
    policies, pods = cluster_pods({"objectStorage": {"type": "seaweedfs"}})
    stranger = Pod("stranger", "other", "10.2.0.9", {"app": "x"}, {},
                   {"kubernetes.io/metadata.name": "other"})
    assert refusal(policies, stranger, pods["redis"], REDIS_PORT)
    assert refusal(policies, stranger, pods["wps-node"], WPS_PORT)
    assert refusal(policies, pods["wps-node"], pods["wps-node"], WPS_PORT)  # gateway only
    assert refusal(policies, pods["gateway"], pods["redis"], REDIS_PORT + 1)  # wrong port
    assert refusal(policies, pods["gateway"], pods["seaweedfs"], SEAWEEDFS_PORT)
    assert refusal(policies, stranger, pods["gateway"], GATEWAY_PORT) is None  # the entry


def test_label_selectors():
    assert selects({}, {"a": "1"})
    assert not selects({"matchLabels": {"a": "2"}}, {"a": "1"})
    assert selects({"matchExpressions": [{"key": "a", "operator": "In", "values": ["1"]}]},
                   {"a": "1"})
    assert not selects({"matchExpressions": [{"key": "b", "operator": "Exists"}]}, {"a": "1"})
    assert selects({"matchExpressions": [{"key": "b", "operator": "NotIn",
                                          "values": ["1"]}]}, {"a": "1"})


@pytest.mark.parametrize("family, host", [("AF_INET", "127.0.0.1"), ("AF_INET6", "::1")])
def test_the_connections_a_process_accepts_are_read_from_proc(family, host):
    """tests/support/podtraffic.py reads a pod's sockets as the kernel lists them: here a
    listening socket of ours and a client's connection to it."""
    import os
    import socket

    from tests.support.podtraffic import Connection, accepted

    with socket.socket(getattr(socket, family)) as server:
        server.bind((host, 0))
        server.listen()
        port = server.getsockname()[1]
        with socket.create_connection((host, port)) as client:
            peer, _ = server.accept()
            with peer:
                client_port = client.getsockname()[1]
                found = accepted(os.getpid(), "me")
    assert Connection("me", port, host) in found
    assert not any(c.port == client_port for c in found)  # the client's end is not one
