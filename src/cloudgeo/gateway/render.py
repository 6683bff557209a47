"""`python -m cloudgeo.gateway.render FOLDER`: the gateway image's configuration, from
its settings (cloudgeo.gateway.settings; docs/settings.md lists them)."""

from __future__ import annotations

import sys
from pathlib import Path

from cloudgeo.gateway.files import write_config
from cloudgeo.gateway.settings import GatewayImageSettings


def main() -> None:
    print(write_config(Path(sys.argv[1]), GatewayImageSettings.from_env().gateway()))


if __name__ == "__main__":
    main()
