"""What a node publishes: pure rules over the catalogue, decided here and nowhere else.

An algorithm is a program the caller runs on our machine with our credentials, so
some are withheld by default:
- by rule, over its QGIS parameter types: SQL run against a data source, database
  connections and schemas by name, and required parameters no web caller can give
  (layouts, map themes: the process could never run);
- by the reviewed table `withheld.tsv` (id -> reason): caller code, URLs, devices or
  paths given as strings, shared worker state, external services.
Some parameters are withheld from otherwise published algorithms (GDAL's raw
command-line EXTRA): the process is published without them.

Operators narrow or widen it with glob lists: `include` (empty: everything the rules
allow) and `exclude`. A withheld algorithm is published only when an include entry
names it exactly; a wildcard never does. A withheld algorithm is indistinguishable
from an unknown one: it is absent from the catalogue every API reads.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cloudgeo.wpsnode.catalog.kinds import UNSUPPORTED

TABLE = Path(__file__).with_name("withheld.tsv")
REVIEW = Path(__file__).with_name("publication-review.tsv")

# QGIS parameter types whose mere presence withholds an algorithm.
WITHHELD_TYPES = {
    "execute_sql": "runs caller SQL against its data sources (SQLite ATTACH opens paths)",
    "providerconnection": "connects to a database by connection name",
    "databaseschema": "names a schema of a database connection",
    "databasetable": "names a table of a database connection",
}
# Parameters removed from published algorithms: (provider, parameter name) -> reason.
WITHHELD_PARAMETERS = {
    ("gdal", "EXTRA"): "raw command-line arguments for the GDAL tool",
}
# Published only with an include entry, and then the URL passes the node's href guard
# and is fetched by the node itself (cloudgeo.wpsnode.worker.runner), never by QGIS.
GUARDED_URL_PARAMETERS = {"native:filedownloader": "URL"}


def load_table(path: Path = TABLE) -> dict[str, str]:
    table = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            identifier, reason = line.split("\t", 1)
            table[identifier.strip()] = reason.strip()
    return table


def rule_reason(process: Mapping[str, Any]) -> str | None:
    """Why the rules over parameter types withhold this process, or None."""
    for spec in process["inputs"]:
        if spec["type"] in WITHHELD_TYPES:
            return f"{WITHHELD_TYPES[spec['type']]} ({spec['name']})"
    for spec in process["inputs"]:
        if spec["dataType"] == UNSUPPORTED and not spec["optional"] \
                and spec.get("default") is None:
            return (f"needs a QGIS '{spec['type']}' object ({spec['name']}), which no web "
                    "caller can give")
    return None


@dataclass(frozen=True)
class Decision:
    published: bool
    reason: str  # why withheld (or, if published against the defaults, why it was)
    overridden: bool = False  # a withheld algorithm an operator included by name


@dataclass(frozen=True)
class PublicationPolicy:
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    table: Mapping[str, str] = field(default_factory=load_table)

    @classmethod
    def from_globs(cls, include: Iterable[str] = (), exclude: Iterable[str] = ()
                   ) -> PublicationPolicy:
        return cls(tuple(g for g in include if g), tuple(g for g in exclude if g))

    def withheld_reason(self, process: Mapping[str, Any]) -> str | None:
        return self.table.get(process["id"]) or rule_reason(process)

    def decide(self, process: Mapping[str, Any]) -> Decision:
        identifier = process["id"]
        if any(fnmatch.fnmatchcase(identifier, g) for g in self.exclude):
            return Decision(False, "excluded by CLOUDGEO_WPS_PROCESSES_EXCLUDE")
        if self.include and not any(fnmatch.fnmatchcase(identifier, g) for g in self.include):
            return Decision(False, "not in CLOUDGEO_WPS_PROCESSES_INCLUDE")
        reason = self.withheld_reason(process)
        if reason is None:
            return Decision(True, "")
        if identifier in self.include:  # named exactly: the operator's decision
            return Decision(True, reason, overridden=True)
        return Decision(False, reason)

    def published(self, processes: Mapping[str, Mapping[str, Any]]
                  ) -> tuple[dict[str, dict[str, Any]], dict[str, Decision]]:
        """(published id -> description with withheld parameters removed,
        every id -> decision)."""
        decisions = {pid: self.decide(p) for pid, p in processes.items()}
        published = {pid: without_withheld_parameters(p) for pid, p in processes.items()
                     if decisions[pid].published}
        return published, decisions


def withheld_parameters(process: Mapping[str, Any]) -> dict[str, str]:
    """Parameter name -> why the policy never accepts it, for this process."""
    provider = process["provider"]
    return {s["name"]: WITHHELD_PARAMETERS[provider, s["name"]] for s in process["inputs"]
            if (provider, s["name"]) in WITHHELD_PARAMETERS}


def without_withheld_parameters(process: Mapping[str, Any]) -> dict[str, Any]:
    """The description without the parameters the policy never accepts."""
    dropped = withheld_parameters(process)
    return {**process, "inputs": [s for s in process["inputs"] if s["name"] not in dropped]}


def review(processes: Mapping[str, Mapping[str, Any]]) -> str:
    """The publication outcome of every algorithm under the default policy, as TSV."""
    policy = PublicationPolicy()
    lines = ["# id\toutcome\treason (generated: python -m cloudgeo.wpsnode.catalog.policy)"]
    for pid in sorted(processes):
        decision = policy.decide(processes[pid])
        if decision.published:
            note = "; ".join(f"without {name} ({reason})"
                             for name, reason in withheld_parameters(processes[pid]).items())
            lines.append(f"{pid}\tpublished\t{note}".rstrip("\t"))
        else:
            lines.append(f"{pid}\twithheld\t{decision.reason}")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # python -m cloudgeo.wpsnode.catalog.policy CATALOG.json
    import json
    import sys

    document = json.loads(Path(sys.argv[1]).read_text())
    REVIEW.write_text(review({p["id"]: p for p in document["processes"]}))
    print(f"wrote {REVIEW}")
