"""The WPS node's Prometheus metrics.

HTTP metrics come from gunicorn workers, job metrics from QGIS workers; all
write to the node's one multiprocess directory, so /metrics sums them. Worker
pool gauges are read from the workers' heartbeats in Redis at scrape time.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

REQUESTS = Counter("cloudgeo_wps_requests_total", "HTTP requests to the WPS node",
                   ["route", "method", "status"])
LATENCY = Histogram("cloudgeo_wps_request_duration_seconds", "Time to answer an HTTP request",
                    ["route", "method"],
                    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60))
JOBS = Counter("cloudgeo_wps_jobs_total", "Jobs finished by this node's QGIS workers",
               ["process", "status"])
JOB_DURATION = Histogram(
    "cloudgeo_wps_job_duration_seconds", "Run time of jobs, fetching inputs and storing outputs "
    "included", ["process"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600))
INPUT_CACHE = Counter("cloudgeo_wps_input_cache_total",
                      "Read-only inputs looked up in a QGIS worker's cache: hit, miss, or "
                      "altered (its files changed since it was fetched, so it was dropped)",
                      ["result"])
CALLBACKS = Counter("cloudgeo_wps_callbacks_total",
                    "Tries to post a job's callback to its subscriber, by the job's status "
                    "(running, successful, failed) and outcome: delivered; retried (the try "
                    "failed, another follows); failed (the last try failed, or the "
                    "subscriber refused it); refused (its address failed the guard); "
                    "dropped (the job's record was gone)", ["status", "outcome"])
