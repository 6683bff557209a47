"""How instances are named in the registry."""

from __future__ import annotations

from cloudgeo.common.server import ServerSettings
from cloudgeo.fileservice.__main__ import instance_id


def test_file_service_replicas_binding_every_address_are_distinct_instances():
    """Each pod binds 0.0.0.0:8800 and advertises its own IP: two replicas must be two
    registry entries (one was: each replaced the other's, and the first to stop removed
    the file service from the gateway for both)."""
    pods = [ServerSettings.from_env({"CLOUDGEO_FILE_HOST": "0.0.0.0",
                                     "CLOUDGEO_FILE_ADVERTISE_URL": f"http://{ip}:8800"},
                                    "CLOUDGEO_FILE", port=8800)
            for ip in ("10.244.0.5", "10.244.0.6")]
    assert [pod.host for pod in pods] == ["0.0.0.0", "0.0.0.0"]
    assert [instance_id(pod.url) for pod in pods] == [
        "wps-file-storage-10.244.0.5-8800", "wps-file-storage-10.244.0.6-8800"]
