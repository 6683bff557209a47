"""The OGC API's pages in a real browser: Debian's chromium, headless, driven by
Playwright (its driver from PyPI, no browser download), against a local cluster
through its gateway. A person lists the processes, finds native:buffer, uploads a
zipped shapefile in the process page's form, runs it, watches the job page until it
ends, follows the result's link and gets the buffered layer. Screenshots of each step
go to the test's own temporary folder, printed at the end."""

from __future__ import annotations

import base64
import hashlib
import shutil
from pathlib import Path

import pytest
import requests

from cloudgeo.localcluster.cluster import ClusterAccess
from cloudgeo.samples import point_shapefile_zip
from tests.support.cluster import start_cluster
from tests.support.wps import vector_summary

CHROMIUM = "/usr/bin/chromium"
USER, PASSWORD = "surveyor", "field-work-2026"


@pytest.fixture(scope="module")
def cluster(state_root, catalog_path):
    """Behind basic authentication, as a person would meet it: the job list shows the
    caller's own jobs."""
    htpasswd = state_root / "browser-htpasswd"
    digest = base64.b64encode(hashlib.sha1(PASSWORD.encode()).digest()).decode()
    htpasswd.write_text(f"{USER}:{{SHA}}{digest}\n")
    local, state = start_cluster(state_root, catalog_path, "browser", nodes=1,
                                 access=ClusterAccess("basic", str(htpasswd)))
    yield state
    local.down()


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: scripts/install-system.sh installs chromium")
    with sync_playwright() as playwright:
        # No sandbox: the tests run as root, where chromium's sandbox refuses to start.
        chromium = playwright.chromium.launch(executable_path=CHROMIUM,
                                              args=["--no-sandbox"])
        try:
            yield chromium
        finally:
            chromium.close()


def test_a_person_runs_a_buffer_from_the_pages(cluster, browser, tmp_path):
    shots = tmp_path / "screenshots"
    shots.mkdir()
    layer = point_shapefile_zip(tmp_path / "data", count=10, seed=5, name="wells")
    errors: list[str] = []
    page = browser.new_page(accept_downloads=True,
                            http_credentials={"username": USER, "password": PASSWORD})
    failed: list[str] = []
    # Script errors and CSP refusals; a 404 is counted by its response below.
    page.on("console", lambda m: errors.append(m.text) if m.type == "error"
            and not m.text.startswith("Failed to load resource") else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    # 401: the challenge before the browser sends the credentials.
    page.on("response", lambda r: failed.append(f"{r.status} {r.url}")
            if r.status >= 400 and r.status != 401 else None)
    base = f"{cluster.gateway_url}/api/wps/ogcapi"

    page.goto(f"{base}/")  # a browser's own Accept header: the landing page
    page.get_by_role("link", name="Processes").first.click()
    page.get_by_label("Search").fill("buffer")
    page.get_by_role("button", name="Search").click()
    page.screenshot(path=shots / "1-processes.png", full_page=True)
    page.get_by_role("link", name="native:buffer", exact=True).click()
    assert page.get_by_role("heading", level=1).inner_text().startswith("Buffer")

    page.locator('[data-input="INPUT"][data-kind="file"]').set_input_files(layer)
    page.locator("#in-DISTANCE").fill("15")
    page.screenshot(path=shots / "2-process-form.png", full_page=True)
    page.get_by_role("button", name="Run").click()

    page.wait_for_url("**/jobs/*?f=html", timeout=60_000)
    status = page.locator("#job-status")
    status.filter(has_text="successful").wait_for(timeout=120_000)
    assert page.locator("#job-progress").get_attribute("value") == "100"
    link = page.get_by_role("link", name="download (application/geopackage+sqlite3)")
    link.wait_for(timeout=30_000)
    page.screenshot(path=shots / "3-job-finished.png", full_page=True)
    href = link.get_attribute("href")
    with page.expect_download() as downloaded:
        link.click(modifiers=["Alt"])  # Alt-click: save the link's target
    saved = tmp_path / "result.gpkg"
    shutil.copy(downloaded.value.path(), saved)
    count, geometry, areas = vector_summary(saved)
    assert count == 10 and "Polygon" in geometry
    assert min(areas) > 3.14 * 15 * 15 * 0.95  # buffered by 15 m, as typed in the form

    page.goto(f"{base}/jobs")
    page.screenshot(path=shots / "4-jobs.png", full_page=True)
    assert page.get_by_role("cell", name="native:buffer").count() == 1  # the one run
    page.goto(f"{base}/jobs/{'0' * 32}")  # a person's 404 is a page too
    assert "No such job" in page.get_by_role("heading", level=1).inner_text() or \
        "Request refused" in page.get_by_role("heading", level=1).inner_text()
    page.goto(f"{base}/api")
    page.locator(".swagger-ui .info").wait_for(timeout=30_000)  # Swagger UI rendered
    page.screenshot(path=shots / "5-swagger-ui.png")
    assert requests.get(href, timeout=30, auth=(USER, PASSWORD)).status_code == 200
    assert not errors, errors  # no script error, no CSP refusal
    missing = f"404 {base}/jobs/{'0' * 32}"
    assert [f for f in failed if not f.endswith("/favicon.ico")] == [missing], failed
    print(f"\nscreenshots: {shots}")
