"""OGC API callbacks, the pure parts: what a subscriber may name, the retry schedule, the
documents posted; and the node's refusals at submit, which reach neither Redis nor the
subscriber (tests/support/node_app.py: nothing listens behind the app)."""

from __future__ import annotations

import socket

import pytest

from cloudgeo.wpsnode.api.ogc.callback_delivery import verdict
from cloudgeo.wpsnode.api.ogc.callbacks import callback_document, public_base
from cloudgeo.wpsnode.inputs.href_guard import HrefPolicy
from cloudgeo.wpsnode.inputs.pinned import HrefRefused, resolve_checked
from cloudgeo.wpsnode.jobs.callbacks import MAX_DELAY, retry_delay, snapshot
from cloudgeo.wpsnode.jobs.errors import RequestRefused
from cloudgeo.wpsnode.jobs.record import JobRecord
from cloudgeo.wpsnode.jobs.subscriber import parse_subscriber
from cloudgeo.wpsnode.settings import WpsSettings
from tests.support.node_app import empty_catalog, node_app
from tests.support.ogc_schemas import errors

CONF = "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf"
ANY_PUBLIC = HrefPolicy.from_urls(["*"])
HOOK = "https://hooks.example.org/geo"
BASE = public_base("http://gateway.test")
CREATED = 1_790_000_000.0
LINK = "http://gateway.test/api/file/retrieve/0123abcd.gpkg"


# -- what a subscriber may name ---------------------------------------------------------

def test_any_of_the_three_uris_is_taken_and_none_means_no_callbacks():
    assert parse_subscriber(None, ANY_PUBLIC) == {}
    assert parse_subscriber({"failedUri": HOOK}, ANY_PUBLIC) == {"failedUri": HOOK}
    every = {"successUri": HOOK, "inProgressUri": f"{HOOK}/running",
             "failedUri": "http://hooks.example.org:8080/failed"}
    assert parse_subscriber(every, ANY_PUBLIC) == every
    assert parse_subscriber({"successUri": HOOK, "failedUri": None}, ANY_PUBLIC) == {
        "successUri": HOOK}


@pytest.mark.parametrize(("subscriber", "field", "words"), [
    ("http://x", "subscriber", "must be an object"),
    ({}, "subscriber", "names no URL"),
    ({"failedUri": None}, "subscriber", "names no URL"),
    ({"successUrl": HOOK}, "subscriber.successUrl", "not a subscriber field"),  # 1.0's typo
    ({"successUri": 42}, "subscriber.successUri", "must be a URL"),
    ({"successUri": ""}, "subscriber.successUri", "must be a URL"),
    ({"successUri": "ftp://hooks.example.org/x"}, "subscriber.successUri",
     "only http and https links are called back"),
    ({"successUri": "file:///etc/passwd"}, "subscriber.successUri", "'file'"),
    ({"inProgressUri": "https://user:secret@hooks.example.org/x"},
     "subscriber.inProgressUri", "user credentials"),
    ({"failedUri": "http://:80/x"}, "subscriber.failedUri", "has no host"),
    ({"failedUri": "http://hooks.example.org:99999/x"}, "subscriber.failedUri",
     "not a valid URL"),
    ({"successUri": HOOK + "/" + "a" * 2048}, "subscriber.successUri", "at most 2048"),
])
def test_a_refused_subscriber_names_its_field(subscriber, field, words):
    with pytest.raises(RequestRefused) as refused:
        parse_subscriber(subscriber, ANY_PUBLIC)
    assert refused.value.field == field
    assert words in refused.value.message and f"'{field}'" in refused.value.message


def test_the_allow_list_names_hosts_and_an_empty_one_offers_no_callbacks():
    named = HrefPolicy.from_urls(["http://127.0.0.1:8123"])
    assert parse_subscriber({"successUri": "http://127.0.0.1:8123/a"}, named)
    with pytest.raises(RequestRefused, match="not on this node's allow-list"):
        parse_subscriber({"successUri": "http://127.0.0.1:8124/a"}, named)
    with pytest.raises(RequestRefused, match="sends no callbacks") as refused:
        parse_subscriber({"successUri": HOOK}, HrefPolicy.from_urls([]))
    assert refused.value.field == "subscriber"
    assert parse_subscriber(None, HrefPolicy.from_urls([])) == {}


def test_addresses_private_loopback_link_local_and_metadata_are_refused_unless_named(
        monkeypatch):
    """The second half of the guard (inputs/pinned.py), as the service runs it at submit
    and the deliverer before each try: a name resolving to such an address is refused
    under `*`; loopback and private addresses pass only for a host the list names."""
    answers = {"private.hooks.invalid": "10.1.2.3", "loopback.hooks.invalid": "127.0.0.1",
               "metadata.hooks.invalid": "169.254.169.254",
               "linklocal.hooks.invalid": "169.254.10.1", "public.hooks.invalid": "93.184.215.14"}
    real = socket.getaddrinfo
    monkeypatch.setattr(socket, "getaddrinfo", lambda host, *a, **k: (
        [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answers[host], 0))]
        if host in answers else real(host, *a, **k)))
    for host, words in (("private", "private address"), ("loopback", "private address"),
                        ("metadata", "metadata address"), ("linklocal", "link-local")):
        with pytest.raises(HrefRefused, match=words):
            resolve_checked(f"http://{host}.hooks.invalid/cb", ANY_PUBLIC)
    assert resolve_checked("http://public.hooks.invalid/cb", ANY_PUBLIC) == "93.184.215.14"
    named = HrefPolicy.from_urls(["*", "loopback.hooks.invalid:80",
                                  "metadata.hooks.invalid:80"])
    assert resolve_checked("http://loopback.hooks.invalid/cb", named) == "127.0.0.1"
    with pytest.raises(HrefRefused, match="metadata"):  # never, named or not
        resolve_checked("http://metadata.hooks.invalid/cb", named)


# -- when and how often -------------------------------------------------------------------

def test_retries_back_off_doubling_up_to_a_minute():
    assert [retry_delay(n) for n in range(1, 10)] == [1, 2, 4, 8, 16, 32, MAX_DELAY,
                                                      MAX_DELAY, MAX_DELAY]


@pytest.mark.parametrize(("status", "outcome"), [
    (200, "delivered"), (202, "delivered"), (204, "delivered"),
    (None, "retry"), (500, "retry"), (503, "retry"), (429, "retry"), (408, "retry"),
    (301, "failed"), (302, "failed"), (400, "failed"), (404, "failed"), (410, "failed"),
])
def test_which_answers_are_tried_again(status, outcome):
    assert verdict(status) == outcome


def test_the_settings_default_to_any_public_host_and_eight_tries():
    defaults = WpsSettings.from_env({})
    assert defaults.callback_hosts == ("*",) and defaults.callback_attempts == 8
    assert defaults.callbacks_offered
    off = WpsSettings.from_env({"CLOUDGEO_WPS_CALLBACK_HOSTS": ""})
    assert off.callback_hosts == () and not off.callbacks_offered
    named = WpsSettings.from_env({"CLOUDGEO_WPS_CALLBACK_HOSTS": "*, 127.0.0.1:8123",
                                  "CLOUDGEO_WPS_CALLBACK_ATTEMPTS": "3"})
    assert named.callback_hosts == ("*", "127.0.0.1:8123") and named.callback_attempts == 3


# -- what is posted -------------------------------------------------------------------------

def record(status: str, **fields) -> JobRecord:
    return JobRecord(jobId="b" * 32, identifier="native:buffer", mode="async",
                     status=status, created=CREATED, plan={}, **fields)


def test_in_progress_is_the_status_document_as_the_job_started():
    # Posted after the job finished: the document still says what the change said.
    later = record("succeeded", started=CREATED + 1, finished=CREATED + 9,
                   percentCompleted=100, message="done", output={"OUTPUT": LINK})
    started = snapshot({"status": "running", "started": CREATED + 1, "percentCompleted": 0,
                        "message": "running", "node": "n1", "deadline": CREATED + 99})
    document = callback_document(later, "running", started, BASE)
    assert document["status"] == "running" and document["progress"] == 0
    assert document["message"] == "running" and "finished" not in document
    assert [link["rel"] for link in document["links"]] == ["self", "log"]  # no results
    assert document["links"][0] == {"href": f"{BASE}/jobs/{'b' * 32}", "rel": "self",
                                    "type": "application/json", "title": "job status"}
    assert errors("statusInfo.yaml", document) == []


def test_failed_is_the_status_document_of_the_failure():
    failed = record("failed", started=CREATED + 1, finished=CREATED + 2,
                    failure="timeout", message="the job exceeded its time limit")
    change = snapshot({"status": "failed", "failure": "timeout", "finished": CREATED + 2,
                       "expires": CREATED + 99, "message": failed.message})
    document = callback_document(failed, "failed", change, BASE)
    assert document["status"] == "failed" and "time limit" in document["message"]
    assert document["finished"].startswith("2026-")
    assert errors("statusInfo.yaml", document) == []


def test_success_is_the_results_document_with_files_by_reference():
    done = record("succeeded", output={"OUTPUT": LINK, "COUNT": 2.5,
                                       "PARTS": [LINK.replace("0123", "4567")]},
                  # asked for by value, and two of three outputs: a subscriber gets links
                  delivery={"response": "raw", "outputs": {"OUTPUT": "value", "COUNT": ""}})
    document = callback_document(done, "succeeded", snapshot({"status": "succeeded"}), BASE)
    assert document == {"OUTPUT": {"href": LINK, "type": "application/geopackage+sqlite3"},
                        "COUNT": 2.5}
    assert errors("results.yaml", document) == []
    every = callback_document(record("succeeded", output=done.output), "succeeded", {}, BASE)
    assert set(every) == {"OUTPUT", "COUNT", "PARTS"} and every["PARTS"][0]["href"]


def test_links_point_at_the_gateway():
    assert public_base("https://geo.example.org/") == "https://geo.example.org/api/wps/ogcapi"


# -- the node refuses before anything is queued ---------------------------------------------

@pytest.fixture(scope="module")
def node(catalog_path, tmp_path_factory):
    return node_app(catalog_path, tmp_path_factory.mktemp("callback-node"),
                    callback_hosts="*,127.0.0.1:8123").test_client()


@pytest.mark.parametrize(("subscriber", "field", "words"), [
    ({"successUri": "http://127.0.0.1:8124/cb"}, "subscriber.successUri", "private address"),
    ({"successUri": "http://169.254.169.254/latest"}, "subscriber.successUri", "metadata"),
    ({"inProgressUri": "http://169.254.3.4/cb"}, "subscriber.inProgressUri", "link-local"),
    ({"inProgressUri": "http://[fe80::1]/cb"}, "subscriber.inProgressUri", "link-local"),
    ({"failedUri": "http://10.0.0.8/cb"}, "subscriber.failedUri", "private address"),
    ({"failedUri": "gopher://127.0.0.1:8123/cb"}, "subscriber.failedUri", "gopher"),
    ({"successUri": "http://u:p@127.0.0.1:8123/cb"}, "subscriber.successUri", "credentials"),
])
def test_the_node_refuses_a_subscriber_at_submit_naming_the_field(node, subscriber, field,
                                                                  words):
    """Redis is not reachable behind this app: an answer other than 400 would be the job
    store failing (503), so nothing was queued."""
    ogc = node.post("/ogcapi/processes/echo/execution", headers={"Prefer": "respond-async"},
                    json={"inputs": {"stringInput": "Value1"}, "subscriber": subscriber})
    assert ogc.status_code == 400, ogc.text
    assert ogc.mimetype == "application/problem+json"
    assert f"'{field}'" in ogc.json["detail"] and words in ogc.json["detail"], ogc.json
    # The CloudGeo JSON API takes the same subscriber, checked before the inputs.
    seed = node.post("/jobs", json={"identifier": "native:buffer", "mode": "async",
                                    "inputs": {}, "subscriber": subscriber})
    assert seed.status_code == 400, seed.text
    assert seed.json["success"] is False and seed.json["data"]["field"] == field


def test_the_callback_class_is_declared_only_where_callbacks_are_offered(node,
                                                                        tmp_path_factory):
    assert f"{CONF}/callback" in node.get("/ogcapi/conformance").json["conformsTo"]
    folder = tmp_path_factory.mktemp("no-callbacks")
    closed = node_app(empty_catalog(folder), folder, callback_hosts="").test_client()
    assert f"{CONF}/callback" not in closed.get("/ogcapi/conformance").json["conformsTo"]
    refused = closed.post("/ogcapi/processes/echo/execution",
                          json={"inputs": {}, "subscriber": {"successUri": HOOK}})
    assert refused.status_code == 400 and "sends no callbacks" in refused.json["detail"]


def test_the_openapi_document_describes_the_subscriber(node):
    execute = node.get("/ogcapi/api").json["paths"]["/processes/{processId}/execution"]
    body = execute["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert set(body["properties"]["subscriber"]["properties"]) == {
        "successUri", "inProgressUri", "failedUri"}


def test_ogc_1_0_subscriber_schema_requires_a_field_it_does_not_declare():
    """Why parse_subscriber does not follow subscriber.yaml's `required` (a typo)."""
    assert errors("subscriber.yaml", {"successUri": HOOK}) == [
        "(root): 'successUrl' is a required property"]
