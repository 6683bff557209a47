"""`python -m cloudgeo.operator`: the kopf operator (standalone, as the image runs it)."""

from __future__ import annotations

import asyncio

import kopf

from cloudgeo.operator.settings import OperatorSettings


def main() -> None:
    import cloudgeo.operator.handlers  # noqa: F401  (registers the handlers)

    settings = OperatorSettings.from_env()
    asyncio.run(kopf.operator(standalone=True, clusterwide=not settings.namespaces,
                              namespaces=list(settings.namespaces),
                              liveness_endpoint="http://0.0.0.0:8080/healthz"))


if __name__ == "__main__":
    main()
