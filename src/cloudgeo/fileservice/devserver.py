"""`make run` until the local cluster exists: SeaweedFS plus the file service, in the foreground.

State goes under .state/devserver; Ctrl-C stops both.
"""

from __future__ import annotations

import signal
from pathlib import Path

from cloudgeo.localcluster.seaweedfs import SeaweedFS
from cloudgeo.localcluster.services import file_service


def main() -> None:
    root = Path(".state/devserver").resolve()
    seaweed = SeaweedFS(root / "seaweedfs").start()
    service = file_service(root / "file-service", seaweed.settings, port=8800)
    try:
        service.start()
        print(f"file service on {service.url} (S3: SeaweedFS on {seaweed.settings.endpoint})\n"
              f"  curl -X PUT -F file=@point.zip {service.url}/api/file/upload\n"
              f"  curl {service.url}/api/file/retrieve/<id>.<ext> -o out\n"
              "Ctrl-C stops it.")
        signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt))
        signal.pause()
    except KeyboardInterrupt:
        pass
    finally:
        service.stop()
        seaweed.stop()


if __name__ == "__main__":
    main()
