"""Nothing is read from the environment at import: the Celery queue (which the worker
starts from, `celery -A cloudgeo.wpsnode.worker.tasks:app`) and the operator's handlers
read their settings on first use, and a bad value then names the variable."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

IMPORT_THEN_USE = """
import json, sys
from cloudgeo.wpsnode.jobs import queue
from cloudgeo.wpsnode.worker import tasks
from cloudgeo.operator import handlers
from pathlib import Path
read_at_import = [queue.settings.cache_info().currsize, handlers.settings.cache_info().currsize,
                  queue.app.configured, Path(sys.argv[1]).exists()]
errors = []
for use in (lambda: queue.app.conf.broker_url, lambda: handlers.settings()):
    try:
        use()
    except ValueError as exc:
        errors.append(str(exc))
print(json.dumps([read_at_import, errors, Path(sys.argv[1]).exists()]))
"""


def test_importing_the_queue_the_worker_tasks_and_the_handlers_reads_no_setting(tmp_path):
    handover = tmp_path / "handover"
    handover.write_text('{"CLOUDGEO_REDIS_URL": "redis://:secret@127.0.0.1:1/0"}')
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'src'}:{ROOT}",
           "CLOUDGEO_WPS_QGIS_WORKERS": "zero", "CLOUDGEO_OPERATOR_STATUS_INTERVAL": "soon",
           "CLOUDGEO_SECRETS_FILE": str(handover)}
    done = subprocess.run([sys.executable, "-c", IMPORT_THEN_USE, str(handover)], env=env,
                          capture_output=True, text=True, timeout=120, check=True)
    read_at_import, errors, handover_left = json.loads(done.stdout.strip().splitlines()[-1])
    # Nothing read, not configured, the credentials' hand-over file still there ...
    assert read_at_import == [0, 0, False, True]
    # ... and on first use the bad values stop it, naming the variable.
    assert errors == ["CLOUDGEO_WPS_QGIS_WORKERS='zero' is not a whole number",
                      "CLOUDGEO_OPERATOR_STATUS_INTERVAL='soon' is not a number"]
    assert not handover_left  # taken over (and deleted) on that first use


def test_the_celery_app_is_configured_from_the_settings_on_first_use():
    from cloudgeo.wpsnode.jobs.queue import celery_config
    from cloudgeo.wpsnode.settings import WpsSettings

    node = WpsSettings.from_env({"CLOUDGEO_REDIS_URL": "redis://h:1/0",
                                 "CLOUDGEO_WPS_QUEUE": "q", "CLOUDGEO_WPS_JOB_TIME_LIMIT": "5"})
    config = celery_config(node)
    assert (config["broker_url"], config["task_default_queue"]) == ("redis://h:1/0", "q")
    assert config["broker_transport_options"] == {"visibility_timeout": 65}
    assert config["worker_max_memory_per_child"] == 2048 * 1024


def test_the_celery_configuration_is_made_once_not_at_every_lookup(monkeypatch):
    """Celery looks its settings up dozens of times per message sent: the configuration
    is made from the node's settings on the first lookup, and the later ones read it."""
    from cloudgeo.wpsnode.jobs import queue
    from cloudgeo.wpsnode.settings import WpsSettings

    made = []
    node = WpsSettings.from_env({"CLOUDGEO_WPS_QUEUE": "q"})
    monkeypatch.setattr(queue, "settings", lambda: made.append(1) or node)
    app = queue._NodeCelery("made-once")
    assert not made  # nothing read when the app is made
    assert [app.conf.task_default_queue for _ in range(50)] == ["q"] * 50
    assert app.conf["task_acks_late"] is True
    assert len(made) == 1


IMPORT_EVERY_MODULE = """
import json, os, pkgutil, importlib, sys
import cloudgeo

read = set()
get_item = os._Environ.__getitem__
def recording(self, key):
    frame = sys._getframe(1)
    while frame.f_code.co_filename.endswith(("_collections_abc>", "/os.py")):
        frame = frame.f_back  # os.environ.get, `in`: the reader is the caller's caller
    # Ours only (a library copying the whole environment, as wsgiref does, reads nothing
    # of ours by name).
    if key.startswith("CLOUDGEO_") and "/cloudgeo/" in frame.f_code.co_filename:
        read.add(f"{key} by {frame.f_code.co_filename.split('/src/')[-1]}")
    return get_item(self, key)
os._Environ.__getitem__ = recording  # os.environ.get, `in` and [] all come here
names = [m.name for m in pkgutil.walk_packages(cloudgeo.__path__, "cloudgeo.")
         if not m.name.endswith("__main__")]
for name in names:
    importlib.import_module(name)
print(json.dumps([len(names), sorted(read)]))
"""


def test_importing_any_module_reads_no_cloudgeo_variable():
    """Every module of the package imported (but the `__main__` ones, which run): not one
    CLOUDGEO_* variable is read, so a value set later, or a bad one, is what the first
    use sees and reports."""
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'src'}:{ROOT}", "CLOUDGEO_WPS_QUEUE": "q"}
    done = subprocess.run([sys.executable, "-c", IMPORT_EVERY_MODULE], env=env,
                          capture_output=True, text=True, timeout=300, check=True)
    imported, read = json.loads(done.stdout.strip().splitlines()[-1])
    assert imported > 100
    assert read == []
