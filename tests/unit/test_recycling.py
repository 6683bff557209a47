"""Counting a process's unexpected failures in a row."""

from __future__ import annotations

from flask import Flask

from cloudgeo.common.flaskkit import install_error_handlers
from cloudgeo.common.recycling import FailureStreak


def test_only_failures_in_a_row_count_and_stop_is_asked_once():
    stops: list[int] = []
    streak = FailureStreak(3, stop=lambda: stops.append(1))
    for _ in range(2):
        streak.failed()
    streak.succeeded()  # a healthy answer in between: not a broken process
    streak.failed()
    streak.failed()
    assert stops == []
    for _ in range(4):
        streak.failed()
    assert stops == [1]


def test_unexpected_errors_count_and_deliberate_ones_do_not():
    app = Flask(__name__)

    @app.get("/boom")
    def boom():
        raise RuntimeError("broken state")

    @app.get("/missing")
    def missing():
        return "no", 404

    stops: list[int] = []
    streak = install_error_handlers(app, lambda message, data=None: {"msg": message}, 2)
    streak.stop = lambda: stops.append(1)
    client = app.test_client()
    assert client.get("/boom").status_code == 500
    assert client.get("/missing").status_code == 404  # answered: the process works
    assert client.get("/boom").status_code == 500
    assert stops == []
    assert client.get("/boom").status_code == 500
    assert stops == [1]
