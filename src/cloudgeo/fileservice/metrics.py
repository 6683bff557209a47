"""The file service's Prometheus metrics (summed across gunicorn workers)."""

from prometheus_client import Counter, Histogram

REQUESTS = Counter(
    "cloudgeo_file_requests_total", "HTTP requests to the file service",
    ["route", "method", "status"],
)
LATENCY = Histogram(
    "cloudgeo_file_request_duration_seconds",
    "Time to produce a response (streamed bodies continue after it)",
    ["route", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
)
BYTES_IN = Counter("cloudgeo_file_bytes_received_total", "File bytes received by uploads")
BYTES_OUT = Counter("cloudgeo_file_bytes_sent_total", "File bytes sent by retrieve")
