"""PyWPS's responses share one Jinja environment, so its templates compile once.

Run in a child process: the patch changes PyWPS module state for the process.
"""

from __future__ import annotations

import subprocess
import sys

COUNT_COMPILES = r'''
import sys, threading
from types import SimpleNamespace
import jinja2
from pywps import configuration
from pywps.response.basic import WPSResponse

configuration.load_configuration([])
if sys.argv[1] == "shared":
    from cloudgeo.wpsnode.api.wps10 import share_template_environment
    share_template_environment()
compiles = []
original = jinja2.Environment.compile
def counting(self, *args, **kwargs):
    compiles.append(1)
    return original(self, *args, **kwargs)
jinja2.Environment.compile = counting
request = SimpleNamespace(language="en-US")

def render():
    for _ in range(25):
        response = WPSResponse(request)
        template = response.template_env.get_template("1.0.0/execute/main.xml")
        assert template.name == "1.0.0/execute/main.xml"

errors = []
def guarded():
    try:
        render()
    except Exception as exc:
        errors.append(exc)
threads = [threading.Thread(target=guarded) for _ in range(4)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
assert not errors, errors
print(len(compiles))
'''


def compiles(mode: str) -> int:
    done = subprocess.run([sys.executable, "-c", COUNT_COMPILES, mode], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return int(done.stdout.split()[-1])


def test_templates_compile_once_per_process_not_once_per_response():
    unshared, shared = compiles("pywps"), compiles("shared")
    assert unshared >= 100  # PyWPS alone: every one of the 100 responses compiles again
    assert 0 < shared <= 5  # the template and what it includes, once
