"""The file service's API (fileservice/files_api.py, routes.py) in the test's process,
over FakeObjectStore (tests/support/file_fakes.py, a test double of S3): uploads
streamed and refused in the seed's envelope naming the field, forced names and their
owners, downloads with ranges and conditions, health. The same paths on SeaweedFS:
tests/integration/test_file_service.py, test_file_limits.py."""

from __future__ import annotations

import pytest

from cloudgeo.fileservice import errors
from cloudgeo.fileservice.app import create_app
from cloudgeo.fileservice.files_api import Files, UploadBody, receive_upload, retrieve
from cloudgeo.fileservice.routes import STATUS
from cloudgeo.fileservice.settings import FileServiceSettings
from cloudgeo.storage.names import FileName
from tests.support.file_fakes import CHUNK, FakeObjectStore

MAX = 20_000
ANN, BOB, ROOT = {"X-User": "ann"}, {"X-User": "bob"}, {"X-User": "root"}
DATA = bytes(range(256)) * 40  # 10240 bytes: several reads of the fake's chunk


def form(data: bytes = DATA, field: str = "file", filename: str = "roads.geojson"):
    body = (b"--BB\r\nContent-Disposition: form-data; name=\"" + field.encode() +
            b"\"; filename=\"" + filename.encode() + b"\"\r\n"
            b"Content-Type: application/octet-stream\r\n\r\n" + data + b"\r\n--BB--\r\n")
    return {"data": body, "content_type": "multipart/form-data; boundary=BB"}


def service(**env: str):
    settings = FileServiceSettings.from_env({
        "CLOUDGEO_FILE_MAX_SIZE": str(MAX), "CLOUDGEO_FILE_DRAIN_LIMIT": "100000",
        "CLOUDGEO_PUBLIC_URL": "http://gw.test", **env})
    store = FakeObjectStore()
    return create_app(settings, store).test_client(), store


@pytest.fixture
def plain():
    return service()


@pytest.fixture
def owned():
    return service(CLOUDGEO_FILE_USER_HEADER="X-User", CLOUDGEO_FILE_ADMINS="root")


def test_an_upload_is_streamed_to_the_store_and_described(plain):
    client, store = plain
    answer = client.post("/api/file/upload", **form())
    assert answer.status_code == 200 and answer.json["message"] == "upload complete"
    data = answer.json["data"]
    assert (data["format"], data["length"], data["originalName"]) == ("geojson", 10240,
                                                                       "roads.geojson")
    assert data["url"] == f"http://gw.test/api/file/retrieve/{data['name']}.geojson"
    assert store.objects[data["name"]][0] == DATA
    assert len(store.reads) > 1 and max(store.reads) <= CHUNK  # read as it arrived


@pytest.mark.parametrize(("body", "status", "message"), [
    ({"data": b"{}", "content_type": "application/json"}, 400,
     "the body must be multipart/form-data with the upload in a field named 'file'"),
    (form(field="other"), 400, "the form has no file in a field named 'file'"),
    (form(DATA * 2), 413, "field 'file': the file is larger than the maximum of 20000 bytes"),
    ({**form(), "data": form()["data"] + b"x" * 80_000}, 413,
     "field 'file': the file is larger than the maximum of 20000 bytes"),
    ({"data": b"garbage", "content_type": "multipart/form-data; boundary=BB"}, 400,
     "the multipart/form-data body is malformed: "),
    ({"data": form()["data"], "content_type": "multipart/form-data"}, 400,  # was a 500
     "the multipart/form-data body has no boundary"),
])
def test_a_bad_upload_is_refused_naming_the_file_field_and_nothing_is_stored(
        plain, body, status, message):
    client, store = plain
    answer = client.post("/api/file/upload", **body)
    assert answer.status_code == status
    assert answer.json["message"].startswith(message)  # the parser's words after ':'
    assert (answer.json["success"], answer.json["data"]) == (False, {"field": "file"})
    assert ("Connection" in answer.headers) == (status == 413)
    assert store.objects == {}


def test_a_declared_too_large_body_is_refused_before_its_file_part_is_read():
    store = FakeObjectStore()
    files = Files(FileServiceSettings.from_env({"CLOUDGEO_FILE_MAX_SIZE": "10"}), store)
    body = UploadBody("multipart/form-data; boundary=BB", 10 + 64 * 1024 + 1,
                      Stream(form()["data"]))
    with pytest.raises(errors.FileTooLarge):
        receive_upload(files, {}, body, lambda _: pytest.fail("named a file"))
    assert store.objects == {}


class Stream:
    """A request body as a file object (a test double of the WSGI input), counting the
    bytes read from it."""

    def __init__(self, data: bytes) -> None:
        self.data, self.consumed = data, 0

    def read(self, size: int) -> bytes:
        chunk, self.data = self.data[:size], self.data[size:]
        self.consumed += len(chunk)
        return chunk


def test_an_upload_reaches_the_store_before_its_body_is_read_whole():
    big = b"g" * (5 * 1024 * 1024)
    body = form(big)["data"]
    stream, seen = Stream(body), []

    class WatchingStore(FakeObjectStore):
        """FakeObjectStore noting how much of the request was read at its first read."""

        def put_stream(self, key, reader, content_type, metadata, length=-1):
            seen.append(stream.consumed)
            return super().put_stream(key, reader, content_type, metadata, length)

    store = WatchingStore()
    files = Files(FileServiceSettings.from_env({}), store)
    answer = receive_upload(files, {}, UploadBody("multipart/form-data; boundary=BB",
                                                  len(body), stream),
                            lambda _: FileName("big", "bin"))
    assert answer.status == 200 and store.objects["big"][0] == big
    assert seen[0] < len(body) // 2  # streamed: S3 started with most of it unread


def test_a_forced_name_is_overwritten_unless_create_only_or_anothers(owned):
    client, store = owned
    url = "/api/file/upload-force-name/roads.geojson"
    assert client.put(url, headers=ANN, **form(b"one")).status_code == 200
    assert client.put(url, headers=ANN, **form(b"two")).status_code == 200
    taken = client.put(url, headers={**ANN, "If-None-Match": "*"}, **form(b"three"))
    assert taken.status_code == 412 and taken.json["data"] == {"field": "name"}
    assert taken.json["message"] == ("name 'roads' already exists and If-None-Match: * "
                                     "forbids overwriting it")
    anothers = client.put(url, headers=BOB, **form(b"bob's"))
    assert anothers.status_code == 404 and anothers.json["data"] == {"field": "id"}
    assert store.objects["roads"][0] == b"two"
    assert client.put(url, headers=ROOT, **form(b"root's")).status_code == 200


def test_only_the_owner_finds_or_deletes_a_file_and_others_learn_nothing(owned):
    client, store = owned
    client.put("/api/file/upload-force-name/roads.geojson", headers=ANN, **form())
    for method, path in (("get", "/api/file/find/roads"), ("delete", "/api/file/delete/roads")):
        other = getattr(client, method)(path, headers=BOB)
        missing = getattr(client, method)(path.replace("roads", "none"), headers=BOB)
        assert other.status_code == missing.status_code == 404
        assert other.json["message"] == "no file with id 'roads'"
        assert getattr(client, method)(path).status_code == 401  # no user named
        assert getattr(client, method)(path.replace("roads", "none")).status_code == 404
    assert "roads" in store.objects and store.deleted == []
    deleted = client.delete("/api/file/delete/roads", headers=ANN)
    assert deleted.json["message"] == "file deleted" and store.deleted == ["roads"]


def test_a_download_streams_its_range_or_answers_by_its_conditions(plain):
    client, store = plain
    client.put("/api/file/upload-force-name/roads.geojson", **form())
    url, etag = "/api/file/retrieve/roads.geojson", f'"{store.stat("roads").etag}"'
    whole = client.get(url)
    assert whole.status_code == 200 and whole.data == DATA
    assert whole.headers["Content-Disposition"] == 'inline; filename="roads.geojson"'
    part = client.get(url, headers={"Range": "bytes=100-199"})
    assert part.status_code == 206 and part.data == DATA[100:200]
    assert part.headers["Content-Range"] == "bytes 100-199/10240"
    assert store.opened[-1] == ("roads", 100, 100)
    stale = client.get(url, headers={"Range": "bytes=0-9", "If-Range": '"old"'})
    assert stale.status_code == 200 and stale.data == DATA
    assert client.get(url, headers={"If-None-Match": etag}).status_code == 304
    beyond = client.get(url, headers={"Range": "bytes=20000-"})
    assert beyond.status_code == 416 and beyond.headers["Content-Range"] == "bytes */10240"
    assert beyond.json["data"] == {"field": "Range"}
    opened = len(store.opened)
    head = client.head(url, headers={"Range": "bytes=-10"})
    assert head.status_code == 206 and head.headers["Content-Length"] == "10"
    assert len(store.opened) == opened  # HEAD opens nothing
    other = client.get("/api/file/retrieve/roads.tif")
    assert other.status_code == 404 and other.json["message"] == (
        "no file named 'roads.tif' (file 'roads' is '.geojson')")


def test_owner_only_retrieval_hides_a_file_from_others():
    client, _ = service(CLOUDGEO_FILE_USER_HEADER="X-User",
                        CLOUDGEO_FILE_OWNER_ONLY_RETRIEVAL="true")
    client.put("/api/file/upload-force-name/roads.geojson", headers=ANN, **form())
    assert client.get("/api/file/retrieve/roads.geojson", headers=BOB).status_code == 404
    assert client.get("/api/file/retrieve/roads.geojson", headers=ANN).data == DATA


def test_health_and_a_dead_store_answer_503_in_the_envelope(plain):
    client, store = plain
    assert client.get("/health").json == {"message": "ok", "success": True, "data": {
        "objectStorage": "up", "bucket": "fake-bucket"}}
    store.down = True
    down = client.get("/health")
    assert down.status_code == 503 and down.json["data"] == {"objectStorage": "down"}
    find = client.get("/api/file/find/roads")
    assert find.status_code == 503 and find.headers["Retry-After"] == "5"
    assert find.json["message"].startswith("object storage at fake:9 is unreachable")


def test_a_bad_name_is_refused_naming_it(plain):
    answer = plain[0].put("/api/file/upload-force-name/bad name!.x", **form())
    assert answer.status_code == 400 and answer.json["data"] == {"field": "name"}


def test_every_refusal_has_its_status():
    kinds = {kind for kind in vars(errors).values()
             if isinstance(kind, type) and issubclass(kind, errors.FileRefused)}
    assert set(STATUS) == kinds - {errors.FileRefused}


def test_a_download_is_handed_over_as_the_stores_chunks_not_one_body(plain):
    client, store = plain
    client.put("/api/file/upload-force-name/roads.geojson", **form())
    answer = retrieve(Files(FileServiceSettings.from_env({}), store), {}, "roads.geojson",
                      head=False)
    assert not isinstance(answer.body, bytes | bytearray)
    assert [len(chunk) for chunk in answer.body] == [CHUNK, CHUNK, 10240 - 2 * CHUNK]
