"""Which Kubernetes Events a status change is worth: pure.

An Event for what a person running `kubectl describe gpc` wants to see: a generation
applied or refused by the API server, and Ready turning True or False. Nothing for a
status that only refreshed.
"""

from __future__ import annotations

from typing import Any

NORMAL, WARNING = "Normal", "Warning"


def _by_type(status: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["type"]: c for c in status.get("conditions") or []}


def transition_events(previous: dict[str, Any], status: dict[str, Any]
                      ) -> list[dict[str, str]]:
    before, after = _by_type(previous), _by_type(status)
    made = []
    applied, was = after.get("Reconciled"), before.get("Reconciled") or {}
    if applied and (applied["status"], applied["message"]) != (was.get("status"),
                                                               was.get("message")):
        made.append({"type": NORMAL if applied["status"] == "True" else WARNING,
                     "reason": applied["reason"], "note": applied["message"]})
    ready, was = after.get("Ready"), before.get("Ready") or {}
    if ready and ready["status"] != was.get("status"):
        made.append({"type": NORMAL if ready["status"] == "True" else WARNING,
                     "reason": "Ready" if ready["status"] == "True" else "NotReady",
                     "note": ready["message"]})
    return made
