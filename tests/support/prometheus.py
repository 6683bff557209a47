"""Debian's Prometheus scraping a real node's pods as the Prometheus Operator would for a
ServiceMonitor, and the Grafana dashboard's queries run against it.

Two parts are stand-ins, both here: the Prometheus Operator does not run (`scrape_jobs`
translates the ServiceMonitor into scrape jobs as it would), and Debian's Prometheus is
built without Kubernetes service discovery (its `kubernetes_sd_configs` is refused), so
`discovered_targets` finds the targets the way that discovery does, from the API server
(again at each `refresh_targets`, as that discovery follows changes):
the Services the ServiceMonitor's selector matches, their EndpointSlices' ready addresses
on the named port, labelled namespace/service/pod/endpoint as the Operator labels them;
they reach Prometheus through a file_sd file. Everything else is real: the scrapes of
the pods' /metrics through the CNI, and PromQL.
"""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml


def label_selector(monitor: dict) -> str:
    """The ServiceMonitor's selector as a kubectl label selector (`matchLabels` and `In`
    expressions, all ours uses; anything else is refused rather than ignored)."""
    selector = monitor["spec"]["selector"]
    terms = [f"{k}={v}" for k, v in selector.get("matchLabels", {}).items()]
    for expression in selector.get("matchExpressions", []):
        if expression["operator"] != "In":
            raise ValueError(f"not translated: {expression}")
        terms.append(f"{expression['key']} in ({','.join(expression['values'])})")
    return ",".join(terms)


def discovered_targets(monitor: dict, endpoint: dict,
                       list_objects: Callable[[str, str], list[dict]]) -> list[dict]:
    """file_sd target groups of one ServiceMonitor endpoint: every ready address of the
    selected Services' EndpointSlices that serves the endpoint's named port.
    `list_objects(kind, label selector)` lists objects of the monitor's namespace."""
    unknown = set(endpoint) - {"port", "path", "interval", "honorLabels"}
    if unknown:
        raise ValueError(f"not translated: {sorted(unknown)}")
    namespace = monitor["metadata"]["namespace"]
    groups = []
    for service in list_objects("services", label_selector(monitor)):
        name = service["metadata"]["name"]
        for endpoint_slice in list_objects("endpointslices",
                                           f"kubernetes.io/service-name={name}"):
            ports = [p["port"] for p in endpoint_slice.get("ports") or []
                     if p.get("name") == endpoint["port"]]
            for address in endpoint_slice.get("endpoints") or []:
                if not (address.get("conditions") or {}).get("ready"):
                    continue
                groups += [{"targets": [f"{ip}:{port}"], "labels": {
                    "namespace": namespace, "service": name, "job": name,
                    "pod": (address.get("targetRef") or {}).get("name", ""),
                    "endpoint": endpoint["port"],
                    "__metrics_path__": endpoint.get("path", "/metrics")}}
                    for ip in address["addresses"] for port in ports]
    return groups


def scrape_jobs(monitor: dict, folder: Path,
                list_objects: Callable[[str, str], list[dict]]) -> list[dict]:
    """One scrape job per endpoint of the ServiceMonitor, its targets in a file_sd file
    of `folder`, written now; `refresh_targets` keeps them current."""
    refresh_targets(monitor, folder, list_objects)
    meta = monitor["metadata"]
    return [{
        "job_name": f"serviceMonitor/{meta['namespace']}/{meta['name']}/{index}",
        "honor_labels": bool(endpoint.get("honorLabels", False)),
        "file_sd_configs": [{"files": [str(_targets_file(folder, index))],
                             "refresh_interval": "5s"}],
    } for index, endpoint in enumerate(monitor["spec"]["endpoints"])]


def refresh_targets(monitor: dict, folder: Path,
                    list_objects: Callable[[str, str], list[dict]]) -> None:
    """Discovers the targets again and replaces the file_sd files whole, as Kubernetes
    service discovery follows the EndpointSlices: a pod that becomes ready after the
    first discovery (a node just scaled up) is scraped once it is."""
    for index, endpoint in enumerate(monitor["spec"]["endpoints"]):
        targets = _targets_file(folder, index)
        partial = targets.with_suffix(".partial")
        partial.write_text(json.dumps(discovered_targets(monitor, endpoint, list_objects)))
        partial.replace(targets)  # Prometheus never reads half a file


def _targets_file(folder: Path, index: int) -> Path:
    return folder / f"targets-{index}.json"


def write_config(path: Path, jobs: list[dict]) -> Path:
    # A scrape times out at its interval: 5 s, as a node's /metrics shares the threads
    # of a busy node (2 s timed out on a loaded machine).
    path.write_text(yaml.safe_dump({"global": {"scrape_interval": "5s",
                                               "scrape_timeout": "5s",
                                               "evaluation_interval": "5s"},
                                    "scrape_configs": jobs}))
    return path


def dashboard_queries(dashboard: dict, rate_interval: str = "1m") -> list[tuple[str, str]]:
    """(panel title, PromQL) of every target of a Grafana dashboard, Grafana's
    `$__rate_interval` replaced as Grafana would for a short scrape interval."""
    return [(panel["title"], target["expr"].replace("$__rate_interval", rate_interval))
            for panel in dashboard["panels"] for target in panel.get("targets", [])]


def unhealthy_targets(base_url: str) -> list[tuple[str, str, str]]:
    """(pod, health, last error) of every target Prometheus does not scrape well."""
    with urllib.request.urlopen(f"{base_url}/api/v1/targets", timeout=10) as response:
        active = json.load(response)["data"]["activeTargets"]
    return [(t["labels"].get("pod", t["scrapeUrl"]), t["health"], t.get("lastError", ""))
            for t in active if t["health"] != "up"]


def query(base_url: str, promql: str) -> list[dict[str, Any]]:
    """The instant vector a query gives (an error from Prometheus raises)."""
    url = f"{base_url}/api/v1/query?{urllib.parse.urlencode({'query': promql})}"
    with urllib.request.urlopen(url, timeout=10) as response:
        answer = json.load(response)
    if answer["status"] != "success":
        raise AssertionError(f"{promql}: {answer}")
    return answer["data"]["result"]
