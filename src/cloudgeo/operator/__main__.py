"""`python -m cloudgeo.operator`: the kopf operator (standalone, as the image runs it)."""

from __future__ import annotations

import asyncio

import kopf

from cloudgeo.operator.settings import OperatorSettings


def main() -> None:
    import cloudgeo.operator.handlers  # noqa: F401  (registers the handlers)

    settings = OperatorSettings.from_env()
    # What `kopf run` does first; kopf.operator() alone logs nothing at all.
    kopf.configure(log_format=kopf.LogFormat.FULL)
    asyncio.run(kopf.operator(standalone=True, clusterwide=not settings.namespaces,
                              namespaces=list(settings.namespaces),
                              liveness_endpoint=settings.liveness_url))


if __name__ == "__main__":
    main()
