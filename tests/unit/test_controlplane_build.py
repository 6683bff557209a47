"""The control plane's build cache: a test waits only for the binaries it needs while
the suite's background build goes on with the others."""

from __future__ import annotations

import fcntl
import threading
import time

import pytest

from tests.support.controlplane import build


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("CLOUDGEO_CONTROLPLANE_CACHE", str(tmp_path))
    monkeypatch.setattr(build.shutil, "which", lambda name: f"/usr/bin/{name}")
    folder = tmp_path / build.cache_key()
    folder.mkdir()
    return folder


def test_a_test_waits_for_its_binaries_not_for_the_whole_build(cache, monkeypatch):
    monkeypatch.setattr(build, "_build", lambda *args: pytest.fail(
        "built although another build held the lock"))
    helm = build.binaries_of("helm")
    with open(cache.parent / ".build.lock", "w") as background:
        fcntl.flock(background, fcntl.LOCK_EX)  # the background build, busy

        def helm_done() -> None:
            time.sleep(1)
            for name in helm:
                (cache / name).write_text("")

        threading.Thread(target=helm_done).start()
        started = time.monotonic()
        assert build.ensure_built(helm).folder == cache
        assert time.monotonic() - started >= 1  # it did wait for them
        assert build.missing_binaries() == [n for n in build.binaries_of(*build.BINARIES)
                                            if n not in helm]  # the rest still building


def test_without_another_build_only_the_modules_of_the_missing_binaries_are_built(
        cache, monkeypatch):
    built = []

    def fake_build(module, tools, folder):  # test double of `go build`
        built.append((module.name, sorted(tools.values())))
        for name in tools.values():
            (folder / name).write_text("")

    monkeypatch.setattr(build, "_build", fake_build)
    (cache / "kubectl").write_text("")
    build.ensure_built(build.CLUSTER_BINARIES)
    assert [module for module, _ in built] == ["controlplane", "helm", "coredns"]
    assert "kubectl" not in built[0][1] and "consul" in build.missing_binaries()
