"""The Celery configuration the node's settings make (jobs/queue.py)."""

from __future__ import annotations

from cloudgeo.wpsnode.jobs.queue import celery_config
from cloudgeo.wpsnode.settings import WpsSettings
from cloudgeo.wpsnode.worker.qgis_process import START_SECONDS


def test_a_pool_process_has_as_long_to_come_up_as_its_qgis_process_has_to_start():
    """A pool process announces itself once its QGIS process is up; with Celery's 4 s
    default a loaded machine saw every replacement worker killed before it could."""
    config = celery_config(WpsSettings.from_env({}))
    assert config["worker_proc_alive_timeout"] > START_SECONDS


def test_a_message_whose_consumer_vanished_is_delivered_again_after_the_time_limit():
    config = celery_config(WpsSettings.from_env({"CLOUDGEO_WPS_JOB_TIME_LIMIT": "600"}))
    assert config["broker_transport_options"]["visibility_timeout"] > 600
    assert config["task_acks_late"] and config["task_reject_on_worker_lost"]
