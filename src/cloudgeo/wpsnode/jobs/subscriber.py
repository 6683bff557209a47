"""A job's subscriber (OGC API – Processes 1.0, conformance class `callback`): the URLs
the node posts to when the job starts running, succeeds or fails. The checks of what an
execute request names: pure.

Every URL passes the href guard (inputs/href_guard.py) against the callback allow-list
(CLOUDGEO_WPS_CALLBACK_HOSTS), as an input's href does against the input allow-list:
http(s) only, no credentials in the URL, host:port on the list. Its addresses are
checked when the job is submitted and again at each delivery (inputs/pinned.py): that
is I/O, done by the job service and the deliverer.

1.0's subscriber.yaml requires `successUrl`, a typo for `successUri` that no client
could satisfy along with the properties it declares: any of the three URIs is taken,
at least one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cloudgeo.wpsnode.inputs.href_guard import HrefPolicy, href_problem
from cloudgeo.wpsnode.jobs.errors import RequestRefused
from cloudgeo.wpsnode.jobs.record import FAILED, RUNNING, SUCCEEDED

# The status a job enters -> the subscriber's URI for it.
URI_FOR_STATUS = {RUNNING: "inProgressUri", SUCCEEDED: "successUri", FAILED: "failedUri"}
SUBSCRIBER_URIS = ("successUri", "inProgressUri", "failedUri")
MAX_URL_LENGTH = 2048  # kept in the job's record


def _refused(key: str, message: str) -> RequestRefused:
    name = f"subscriber.{key}" if key else "subscriber"
    return RequestRefused(name, f"'{name}': {message}")


def parse_subscriber(value: Any, policy: HrefPolicy) -> dict[str, str]:
    """The subscriber an execute request names (`{}` for none: absent or null), each URL
    checked against `policy`; a 400 naming the field at fault. An empty allow-list
    means this service sends no callbacks."""
    if value is None:
        return {}
    if not policy.allowed:
        raise _refused("", "this service sends no callbacks (CLOUDGEO_WPS_CALLBACK_HOSTS "
                           "is empty)")
    if not isinstance(value, Mapping):
        raise _refused("", "must be an object with successUri, inProgressUri and/or "
                           "failedUri")
    for key in value:
        if key not in SUBSCRIBER_URIS:
            raise _refused(str(key), f"not a subscriber field; they are "
                                     f"{', '.join(SUBSCRIBER_URIS)}")
    subscriber = {}
    for key in SUBSCRIBER_URIS:
        url = value.get(key)
        if url is None:
            continue
        if not isinstance(url, str) or not url:
            raise _refused(key, "must be a URL (a string)")
        if len(url) > MAX_URL_LENGTH:
            raise _refused(key, f"a URL of at most {MAX_URL_LENGTH} characters")
        problem = href_problem(url, policy, action="called back")
        if problem:
            raise _refused(key, problem)
        subscriber[key] = url
    if not subscriber:
        raise _refused("", "names no URL: give successUri, inProgressUri or failedUri")
    return subscriber
