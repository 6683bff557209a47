"""A sync WPS Execute renders its response document once, when it is served, from the
status it has then (PyWPS alone renders it on every status change).

Run in a child process: the patch changes PyWPS module state for the process.
"""

from __future__ import annotations

import subprocess
import sys

COUNT_RENDERS = r'''
import sys
from types import SimpleNamespace
from pywps import configuration
from pywps.response.execute import ExecuteResponse
from pywps.response.status import WPS_STATUS

configuration.load_configuration([])
if sys.argv[1] == "lazy":
    from cloudgeo.wpsnode.api.wps10 import build_execute_documents_when_read
    build_execute_documents_when_read()
    build_execute_documents_when_read()  # a second call changes nothing
renders = []
def construct(self):
    renders.append(self.status)
    return f"<doc status='{self.status}' percent='{self.status_percentage}'/>", "text/xml"
ExecuteResponse._construct_doc = construct
process = SimpleNamespace(outputs=[], clean=lambda: None)
response = ExecuteResponse(SimpleNamespace(language="en-US"), "job-1", process=process)
response._update_status(WPS_STATUS.ACCEPTED, "accepted", 0)
response._update_status(WPS_STATUS.STARTED, "started", 0)
response.update_status("finished", 100)
response._update_status(WPS_STATUS.SUCCEEDED, "done", 100)
document = response.doc
assert response.doc == document  # read again: not rendered again
print(len(renders), document)
'''


def renders(mode: str) -> tuple[int, str]:
    done = subprocess.run([sys.executable, "-c", COUNT_RENDERS, mode], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    count, document = done.stdout.strip().splitlines()[-1].split(" ", 1)  # after PyWPS's log
    return int(count), document.strip()


def test_the_document_is_rendered_once_from_the_last_status():
    eager, lazy = renders("pywps"), renders("lazy")
    assert eager == (4, "<doc status='4' percent='100'/>")  # 4: WPS_STATUS.SUCCEEDED
    assert lazy == (1, eager[1])
