"""The QGIS process's sandbox (worker/sandbox.py), tried for real in fresh processes.

`enter` is irreversible, so each case runs a new Python child that performs the same
probes twice: before entering (each must succeed, or the check after would prove
nothing) and after. The child prints the outcomes as JSON: "ok" or the errno's name.
"""

from __future__ import annotations

import ctypes
import errno
import json
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import cloudgeo
from cloudgeo.wpsnode.worker.sandbox import Protections, required_missing

SRC = str(Path(cloudgeo.__file__).parent.parent)
ROOT = os.geteuid() == 0

# The child: probes by name, run before and after sandbox.enter(), outcomes as JSON.
CHILD = r'''
import ctypes, errno, json, os, socket, subprocess, sys, time
from cloudgeo.wpsnode.worker import sandbox

cfg = json.loads(sys.argv[1])
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
inside, outside = cfg["inside"], cfg["outside"]


def outcome(fn):
    try:
        result = fn()
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))
    return "ok" if result is None else result


def check(result):
    if result < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    return result


def syscall(nr, *args):
    return check(libc.syscall(ctypes.c_long(nr), *[ctypes.c_long(a) for a in args]))


def call(nr, *args):
    syscall(nr, *args)


def read(path, mode="rb"):
    with open(path, mode) as f:
        f.read(1)


def write(path):
    with open(path, "w") as f:
        f.write("x")


def inside_work(phase):
    base = os.path.join(inside, phase)
    os.mkdir(base)
    write(os.path.join(base, "a"))
    with open(os.path.join(base, "a"), "r+") as f:
        f.truncate(0)
    os.mkdir(os.path.join(base, "sub"))
    os.rename(os.path.join(base, "a"), os.path.join(base, "sub", "b"))  # across folders
    write(os.path.join(base, "gone"))
    os.remove(os.path.join(base, "gone"))
    os.mkdir(os.path.join(base, "gonedir"))
    os.rmdir(os.path.join(base, "gonedir"))
    with open(os.path.join(base, "kept"), "w") as f:
        f.write(phase)


def connect(sock, port):
    with sock:
        sock.connect(("127.0.0.1", port))


def new_socket(family, kind):
    socket.socket(family, kind).close()


def socketpair():
    a, b = socket.socketpair()
    a.close(); b.close()


def ptrace_sleeper(pid):
    check(libc.ptrace(ctypes.c_long(16), ctypes.c_long(pid), None, None))  # PTRACE_ATTACH
    os.waitpid(pid, 0x40000000)  # __WALL: the stopped tracee
    check(libc.ptrace(ctypes.c_long(17), ctypes.c_long(pid), None, None))  # PTRACE_DETACH


class iovec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]


def vm_read(pid, address):
    buf = ctypes.create_string_buffer(16)
    local = iovec(ctypes.cast(buf, ctypes.c_void_p), 16)
    remote = iovec(address, 16)
    check(libc.process_vm_readv(pid, ctypes.byref(local), 1, ctypes.byref(remote), 1, 0))


def fd_syscall(nr, *args):
    os.close(syscall(nr, *args))


def big_file(phase):
    path = os.path.join(inside, f"big-{phase}")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    try:
        for _ in range(32):
            os.write(fd, b"\0" * 65536)  # 2 MiB
    finally:
        os.close(fd)
        size = os.path.getsize(path)
        os.remove(path)
    return f"ok {size}"


def run(argv):
    return f"exit {subprocess.run(argv, capture_output=True).returncode}"


class CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                ("inheritable", ctypes.c_uint32)]


def capabilities():
    header, data = CapHeader(0x20080522, 0), (CapData * 2)()
    check(libc.capget(ctypes.byref(header), data))
    bounding = [c for c in range(cfg["last_cap"] + 1) if libc.prctl(23, c, 0, 0, 0) == 1]
    ambient = [c for c in range(cfg["last_cap"] + 1) if libc.prctl(47, 1, c, 0, 0) == 1]
    return {"effective": data[0].effective | data[1].effective << 32,
            "permitted": data[0].permitted | data[1].permitted << 32,
            "inheritable": data[0].inheritable | data[1].inheritable << 32,
            "bounding": len(bounding), "ambient": len(ambient),
            "no_new_privs": libc.prctl(39, 0, 0, 0, 0), "dumpable": libc.prctl(3, 0, 0, 0, 0)}


pre = {}  # made before entering, used after: an already-open TCP socket
PROBES = {
    "read /etc/passwd": lambda ph: read("/etc/passwd"),
    "read the parent's /proc environ": lambda ph: read(f"/proc/{os.getppid()}/environ"),
    "read /proc/self/environ": lambda ph: read("/proc/self/environ"),
    "open /proc/self/mem": lambda ph: os.close(os.open("/proc/self/mem", os.O_RDWR)),
    "read outside": lambda ph: read(cfg["outside_file"]),
    "write outside": lambda ph: write(os.path.join(outside, f"new-{ph}")),
    "read a listed file": lambda ph: read(cfg["listed_file"]),
    "read its unlisted neighbour": lambda ph: read(cfg["unlisted_file"]),
    "read a 000 file of ours": lambda ph: read(cfg["mode_000_file"]),
    "work inside": lambda ph: inside_work(ph),
    "tcp connect, existing socket": lambda ph: connect(
        pre["tcp"] if ph == "after" else socket.socket(), cfg["ports"][ph]),
    "tcp socket": lambda ph: new_socket(socket.AF_INET, socket.SOCK_STREAM),
    "udp socket": lambda ph: new_socket(socket.AF_INET, socket.SOCK_DGRAM),
    "unix socket": lambda ph: new_socket(socket.AF_UNIX, socket.SOCK_STREAM),
    "socketpair": lambda ph: socketpair(),
    "ptrace a sleeper": lambda ph: ptrace_sleeper(cfg["sleeper"]),
    # PTRACE_ATTACH to pytest would stop it: tried in the sandbox only
    "ptrace the parent": lambda ph: "not tried" if ph == "before" else (
        call(101, 16, os.getppid(), 0, 0)),
    "process_vm_readv the parent": lambda ph: vm_read(os.getppid(), cfg["parent_address"]),
    "pidfd_open the parent": lambda ph: fd_syscall(434, os.getppid(), 0),
    "kill(parent, 0)": lambda ph: os.kill(os.getppid(), 0),
    "io_uring_setup": lambda ph: call(425, 0, 0),
    "bpf": lambda ph: call(321, -1, 0, 0),
    "userfaultfd": lambda ph: fd_syscall(323, 1),  # UFFD_USER_MODE_ONLY: needs no capability
    "keyctl": lambda ph: call(250, 0, -2, 0),  # KEYCTL_GET_KEYRING_ID
    "unshare(0)": lambda ph: call(272, 0),  # a no-op when allowed
    "mount": lambda ph: call(165, 0, 0, 0, 0, 0),
    "write 2 MiB": big_file,
    "run /bin/true": lambda ph: run(["/bin/true"]),
    "child cats /etc/passwd": lambda ph: run(["/bin/cat", "/etc/passwd"]),
    "child python opens a socket": lambda ph: run(
        [sys.executable, "-c", "import socket; socket.socket()"]),
    "capabilities": lambda ph: capabilities(),
}

probes = cfg["probes"]
if "tcp connect, existing socket" in probes:
    pre["tcp"] = socket.socket()
before = {name: outcome(lambda: PROBES[name]("before")) for name in probes}
policy = sandbox.SandboxPolicy(read_only=tuple(cfg["read_only"]),
                               read_write=tuple(cfg["read_write"]),
                               max_file_size=cfg.get("max_file_size"))
start = time.perf_counter()
protections = sandbox.enter(policy)
seconds = time.perf_counter() - start
after = {name: outcome(lambda: PROBES[name]("after")) for name in probes}
print(json.dumps({"before": before, "after": after, "enter_seconds": seconds,
                  "protections": protections.__dict__, "missing": protections.missing()}))
'''


def kernel_landlock_abi() -> int:
    """Asked here, independently of the module under test."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    result = libc.syscall(ctypes.c_long(444), None, ctypes.c_size_t(0), ctypes.c_uint32(1))
    return max(result, 0)


ABI = kernel_landlock_abi()
needs_landlock = pytest.mark.skipif(ABI < 1, reason="this kernel has no Landlock")
needs_root = pytest.mark.skipif(not ROOT, reason="capability checks need root")


def python_paths() -> list[str]:
    """What the child interpreter reads to run: its prefixes and CloudGeo's code, plus
    /usr for the programs it runs (/bin is a symlink into /usr on Debian 12)."""
    return sorted({sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix, SRC,
                   "/usr"})


def last_cap() -> int:
    return int(Path("/proc/sys/kernel/cap_last_cap").read_text())


@pytest.fixture
def folders(tmp_path: Path) -> Iterator[dict]:
    inside, outside = tmp_path / "inside", tmp_path / "outside"
    inside.mkdir()
    outside.mkdir()
    (outside / "secret").write_text("secret")
    (outside / "listed").write_text("listed")
    (outside / "unlisted").write_text("unlisted")
    mode_000 = inside / "mode-000"
    mode_000.write_text("only root's DAC override reads this")
    mode_000.chmod(0)
    yield {"inside": str(inside), "outside": str(outside),
           "outside_file": str(outside / "secret"), "listed_file": str(outside / "listed"),
           "unlisted_file": str(outside / "unlisted"), "mode_000_file": str(mode_000),
           "read_only": [*python_paths(), str(outside / "listed"), str(tmp_path / "absent")],
           "read_write": [str(inside)], "last_cap": last_cap()}
    shutil.rmtree(inside)  # pytest keeps its last tmp folders: nothing of ours stays
    shutil.rmtree(outside)


def run_child(cfg: dict, probes: list[str]) -> dict:
    cfg = {**cfg, "probes": probes}
    proc = subprocess.run([sys.executable, "-c", CHILD, json.dumps(cfg)], capture_output=True,
                          text=True, timeout=60, env={**os.environ, "PYTHONPATH": SRC})
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@needs_landlock
def test_files_outside_the_policy_are_denied(folders):
    # Not /proc/1/environ: PID 1 is this machine's supervisor, unreadable even before.
    # The parent's environment (where a worker's credentials would be) shows the same.
    probes = ["read /etc/passwd", "read the parent's /proc environ", "read /proc/self/environ",
              "open /proc/self/mem", "read outside", "write outside", "read a listed file",
              "read its unlisted neighbour"]
    result = run_child(folders, probes)
    assert result["before"] == dict.fromkeys(probes, "ok")
    assert result["after"] == {**dict.fromkeys(probes, "EACCES"), "read a listed file": "ok"}
    assert sorted(os.listdir(folders["outside"])) == ["listed", "new-before", "secret",
                                                      "unlisted"]


@needs_landlock
def test_the_read_write_folder_is_fully_usable(folders):
    result = run_child(folders, ["work inside"])
    assert result["before"] == result["after"] == {"work inside": "ok"}
    for phase in ("before", "after"):
        base = Path(folders["inside"], phase)
        assert sorted(p.name for p in base.iterdir()) == ["kept", "sub"]
        assert (base / "kept").read_text() == phase
        assert (base / "sub" / "b").read_text() == ""  # truncated, then renamed


@pytest.fixture
def listeners() -> Iterator[dict[str, socket.socket]]:
    made = {phase: socket.create_server(("127.0.0.1", 0)) for phase in ("before", "after")}
    try:
        yield made
    finally:
        for sock in made.values():
            sock.close()


def accepted(listener: socket.socket) -> int:
    listener.setblocking(False)
    count = 0
    while True:
        try:
            conn, _ = listener.accept()
        except BlockingIOError:
            return count
        conn.close()
        count += 1


def test_no_network(folders, listeners):
    ports = {phase: sock.getsockname()[1] for phase, sock in listeners.items()}
    probes = ["tcp connect, existing socket", "tcp socket", "udp socket", "unix socket",
              "socketpair"]
    result = run_child({**folders, "ports": ports}, probes)
    assert result["before"] == dict.fromkeys(probes, "ok")
    expected = {"tcp socket": "EPERM", "udp socket": "EPERM", "unix socket": "EPERM",
                "socketpair": "ok",
                # Landlock ABI 4 covers sockets opened before the sandbox; without it the
                # seccomp filter only stops new ones.
                "tcp connect, existing socket": "EACCES" if ABI >= 4 else "ok"}
    assert result["after"] == expected
    assert accepted(listeners["before"]) == 1
    assert accepted(listeners["after"]) == (0 if ABI >= 4 else 1)


@pytest.fixture
def sleeper() -> Iterator[int]:
    proc = subprocess.Popen(["sleep", "60"])
    try:
        yield proc.pid
    finally:
        proc.kill()
        proc.wait()


def test_other_processes_are_out_of_reach(folders, sleeper):
    marker = b"read by the child through process_vm_readv"
    probes = ["ptrace a sleeper", "process_vm_readv the parent", "pidfd_open the parent",
              "kill(parent, 0)"]
    result = run_child({**folders, "sleeper": sleeper, "parent_address": id(marker)},
                       [*probes, "ptrace the parent"])
    assert result["before"] == {**dict.fromkeys(probes, "ok"), "ptrace the parent": "not tried"}
    assert result["after"] == {**dict.fromkeys(probes, "EPERM"), "ptrace the parent": "EPERM",
                               "kill(parent, 0)": "EPERM" if ABI >= 6 else "ok"}


# Refused by the seccomp filter alone: without it they answer something else even in the
# sandbox (test_without_python3_seccomp), so their EPERM is the filter's doing.
FILTERED = ["io_uring_setup", "bpf", "userfaultfd", "keyctl", "unshare(0)", "mount",
            "pidfd_open the parent", "tcp socket", "unix socket"]


def test_kernel_interfaces_are_filtered(folders):
    result = run_child({**folders, "ports": {"before": 0, "after": 0}}, FILTERED)
    assert "EPERM" not in result["before"].values(), result["before"]
    assert result["after"] == dict.fromkeys(FILTERED, "EPERM")


def test_writes_stop_at_max_file_size(folders):
    result = run_child({**folders, "max_file_size": 1 << 20}, ["write 2 MiB"])
    assert result["before"] == {"write 2 MiB": f"ok {2 << 20}"}
    assert result["after"] == {"write 2 MiB": "EFBIG"}  # and the child lived to say it


@needs_landlock
def test_children_inherit_the_sandbox(folders):
    # /bin is not in the policy: on Debian 12 it is a symlink, and Landlock checks the
    # file it leads to (/usr/bin/true), which /usr allows.
    probes = ["run /bin/true", "child cats /etc/passwd", "child python opens a socket"]
    result = run_child(folders, probes)
    assert result["before"] == dict.fromkeys(probes, "exit 0")
    assert result["after"] == {"run /bin/true": "exit 0", "child cats /etc/passwd": "exit 1",
                               "child python opens a socket": "exit 1"}


@needs_root
def test_root_keeps_no_capability(folders):
    result = run_child(folders, ["capabilities", "read a 000 file of ours"])
    before, after = result["before"]["capabilities"], result["after"]["capabilities"]
    assert before["effective"] and before["permitted"] and before["bounding"]
    assert (before["no_new_privs"], before["dumpable"]) == (0, 1)
    assert after == {"effective": 0, "permitted": 0, "inheritable": 0, "bounding": 0,
                     "ambient": 0, "no_new_privs": 1, "dumpable": 0}
    # Without CAP_DAC_OVERRIDE root obeys file modes, even in its own folder.
    assert result["before"]["read a 000 file of ours"] == "ok"
    assert result["after"]["read a 000 file of ours"] == "EACCES"


def test_protections_match_the_kernel(folders):
    result = run_child(folders, [])
    assert result["protections"] == {"landlock_abi": ABI, "filesystem": ABI >= 1,
                                     "tcp": ABI >= 4, "scoped": ABI >= 6, "seccomp": True}
    assert len(result["missing"]) == (ABI < 1) + (ABI < 4) + (ABI < 6)
    assert result["enter_seconds"] < 1


@pytest.mark.parametrize("abi", range(1, max(ABI, 1) + 1))
def test_older_abis_on_this_kernel(folders, abi):
    # A kernel accepts the ruleset of any older ABI, so the struct size and rights
    # `enter` picks for Debian 12's ABI 2 (and the others) are tried here for real.
    if abi > ABI:
        pytest.skip("this kernel has no Landlock")
    script = f"""
import json, os, sys
from cloudgeo.wpsnode.worker import sandbox
sandbox.landlock_abi = lambda: {abi}
inside = sys.argv[1]
protections = sandbox.enter(sandbox.SandboxPolicy(read_only=("/usr",), read_write=(inside,)))
def outcome(fn):
    try:
        fn()
    except OSError as e:
        return e.errno
    return 0
print(json.dumps({{**protections.__dict__,
                   "passwd": outcome(lambda: open("/etc/passwd").close()),
                   "inside": outcome(lambda: open(os.path.join(inside, "f"), "w").close()),
                   "kill": outcome(lambda: os.kill(os.getppid(), 0))}}))
"""
    proc = subprocess.run([sys.executable, "-c", script, folders["inside"]],
                          capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": SRC})
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {
        "landlock_abi": abi, "filesystem": True, "tcp": abi >= 4, "scoped": abi >= 6,
        "seccomp": True, "passwd": errno.EACCES, "inside": 0,
        "kill": errno.EPERM if abi >= 6 else 0}


def test_this_machine_has_landlock():
    # The project's test machine runs a kernel with Landlock ABI >= 1 (6.18, ABI 7);
    # the module must see what the kernel says.
    from cloudgeo.wpsnode.worker.sandbox import landlock_abi

    assert landlock_abi() == ABI
    assert ABI >= 1


def test_without_python3_seccomp(folders):
    # A `seccomp` entry of None in sys.modules makes `import seccomp` fail.
    script = "import sys; sys.modules['seccomp'] = None; exec(sys.argv.pop(1))"
    cfg = {**folders, "probes": FILTERED, "ports": {"before": 0, "after": 0}}
    proc = subprocess.run([sys.executable, "-c", script, CHILD, json.dumps(cfg)],
                          capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": SRC})
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["protections"]["seccomp"] is False
    assert "EPERM" not in result["after"].values(), result["after"]
    assert any("python3-seccomp" in s and "not installed" in s for s in result["missing"])


def test_refuses_a_process_with_threads():
    script = """
import ctypes, json, sys, threading
from cloudgeo.wpsnode.worker import sandbox
threading.Thread(target=threading.Event().wait, daemon=True).start()
try:
    sandbox.enter(sandbox.SandboxPolicy(read_only=(), read_write=()))
except sandbox.SandboxError as e:
    nnp = ctypes.CDLL(None).prctl(39, 0, 0, 0, 0)
    print(json.dumps({"refused": str(e), "no_new_privs": nnp}))
"""
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60, env={**os.environ, "PYTHONPATH": SRC})
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert "several threads" in result["refused"]
    assert result["no_new_privs"] == 0  # refused before changing anything


def test_import_is_light():
    script = ("import sys; before = set(sys.modules); "
              "import cloudgeo.wpsnode.worker.sandbox; "
              "print(' '.join(sorted(set(sys.modules) - before)))")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60, env={**os.environ, "PYTHONPATH": SRC}, check=True)
    loaded = set(proc.stdout.split())
    assert not {"qgis", "numpy", "osgeo", "celery", "redis", "boto3", "flask"} & loaded


# --- required_missing, on constructed Protections ------------------------------------------
FULL = Protections(landlock_abi=7, filesystem=True, tcp=True, scoped=True, seccomp=True)
DEBIAN_12 = Protections(landlock_abi=2, filesystem=True, tcp=False, scoped=False, seccomp=True)
NO_SECCOMP = Protections(landlock_abi=4, filesystem=True, tcp=True, scoped=False,
                         seccomp=False)
BARE = Protections(landlock_abi=0, filesystem=False, tcp=False, scoped=False, seccomp=False)


def test_missing_names_each_feature():
    assert FULL.missing() == []
    assert [s.split(":")[0] for s in BARE.missing()] == [
        "File access is not restricted", "TCP bind/connect is not restricted by Landlock",
        "Signals and abstract unix sockets to processes outside the sandbox are not refused",
        "The syscall filter (no new sockets, io_uring, ptrace, bpf, mount...) is not loaded"]
    assert "ABI 4" in DEBIAN_12.missing()[0] and "ABI 6" in DEBIAN_12.missing()[1]


def test_required_all():
    assert required_missing(FULL, "all") == []
    assert required_missing(DEBIAN_12, "all") == []  # seccomp stands in for Landlock TCP
    assert required_missing(NO_SECCOMP, "all") == [NO_SECCOMP.missing()[1]]
    bare = BARE.missing()
    assert required_missing(BARE, "all") == [bare[0], bare[1], bare[3]]  # not the scopes


def test_required_filesystem():
    assert required_missing(DEBIAN_12, "filesystem") == []
    assert required_missing(NO_SECCOMP, "filesystem") == NO_SECCOMP.missing()[1:]
    bare = BARE.missing()
    assert required_missing(BARE, "filesystem") == [bare[0], bare[3]]
    no_landlock = Protections(landlock_abi=0, filesystem=False, tcp=False, scoped=False,
                              seccomp=True)
    assert required_missing(no_landlock, "filesystem") == [no_landlock.missing()[0]]


def test_required_none():
    assert required_missing(BARE, "none") == []
    with pytest.raises(ValueError):
        required_missing(FULL, "some")
