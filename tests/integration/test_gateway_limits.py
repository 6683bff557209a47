"""The gateway's per-client limits on a real local cluster (Traefik's rateLimit and
inFlightReq): past them a client gets 429, the services see nothing of it."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from cloudgeo.localcluster.cluster import ClusterAccess
from tests.support.cluster import start_cluster

AVERAGE = 5


@pytest.fixture(scope="module")
def limited_cluster(state_root, catalog_path):
    access = ClusterAccess(gateway_limits=(("rate_limit_average", AVERAGE),
                                           ("rate_limit_burst", AVERAGE),
                                           ("in_flight_per_client", 4)))
    local, state = start_cluster(state_root, catalog_path, "gateway-limits", qgis_workers=1,
                                 access=access)
    yield state
    local.down()


def test_a_client_past_the_rate_limit_gets_429_with_retry_after(limited_cluster):
    url = f"{limited_cluster.gateway_url}/api/wps/health"
    with requests.Session() as session:
        answers = [session.get(url, timeout=30) for _ in range(AVERAGE * 4)]
    codes = [r.status_code for r in answers]
    assert codes[:AVERAGE] == [200] * AVERAGE, codes  # the burst passes
    refused = [r for r in answers if r.status_code == 429]
    assert refused, codes
    assert all(r.headers.get("Retry-After") for r in refused)
    assert set(codes) <= {200, 429}


def test_requests_in_flight_past_the_limit_get_429(limited_cluster):
    """Four slow uploads (each keeps sending for 2 s) hold the four places; a fifth, sent
    a second later (well within the rate limit), is refused."""
    url = f"{limited_cluster.gateway_url}/api/file/upload"
    time.sleep(2)  # the rate limiter's bucket fills again

    def slow_upload(delay: float) -> int:
        time.sleep(delay)

        def body():
            for _ in range(20):
                yield b"x" * 1024
                time.sleep(0.1)
        return requests.put(url, data=body(), timeout=60,
                            headers={"Content-Type": "application/octet-stream"}).status_code

    with ThreadPoolExecutor(5) as pool:
        codes = list(pool.map(slow_upload, [0, 0.1, 0.2, 0.3, 1.0]))
    assert 429 not in codes[:4] and codes[4] == 429, codes
