"""Confines the current process, and every process it starts later, for good.

The QGIS process opens layer files that callers send us, and a layer file is a
program (a VRT reads any path, a WMS description sends requests, a QGIS project runs
Python). So before it opens the first one, the process gives up, irreversibly, what a
subverted QGIS could abuse:

* privileges: no_new_privs (no setuid / file-capability gains on exec), not dumpable
  (other processes of our uid cannot ptrace it or read its /proc files), and, when it
  runs as root, every capability (the bounding set too, so a child that execs as
  root gets none back): root without CAP_DAC_OVERRIDE/CAP_SYS_PTRACE/CAP_SYS_ADMIN
  is bound by file permissions and by the rules below;
* files: a Landlock ruleset (Linux 5.13+) allowing only the policy's paths;
* TCP: Landlock ABI 4 (Linux 6.7+) denies every bind and connect, inherited sockets
  included;
* signals and abstract unix sockets to processes outside the sandbox: Landlock ABI 6
  (Linux 6.12+);
* syscalls: a seccomp filter (python3-seccomp, i.e. libseccomp) that refuses socket
  creation, io_uring, ptrace and the other kernel interfaces listed in `_DENIED`;
* output size: RLIMIT_FSIZE, with SIGXFSZ ignored so a write past it fails (EFBIG)
  rather than killing the process in the middle of a job.

Each piece depends on what the kernel offers; `enter` applies what it can and answers
with the `Protections` actually in force, and the caller decides with
`required_missing` whether that is enough to go on.

Only the standard library is needed; `seccomp` is optional (then the syscall filter
is reported missing). Landlock, prctl and capset are called through ctypes.
"""

from __future__ import annotations

import ctypes
import errno
import os
import resource
import signal
import stat
import threading
from dataclasses import dataclass

try:  # Debian's python3-seccomp; optional so that the module imports everywhere
    import seccomp as _seccomp
except ImportError:  # pragma: no cover - depends on the machine
    _seccomp = None

__all__ = ["Protections", "SandboxError", "SandboxPolicy", "available", "enter",
           "landlock_abi", "required_missing"]


class SandboxError(RuntimeError):
    """The sandbox could not be set up as asked. Raised before any change when the
    process cannot be confined at all (several threads); raised part-way otherwise,
    in which case the process is partly confined and should just exit."""


@dataclass(frozen=True)
class SandboxPolicy:
    """What the confined process may still touch.

    Paths are resolved when `enter` runs (symlinks followed: a rule for /bin is a
    rule for /usr/bin on merged-/usr systems); paths that do not exist then are
    skipped, since nothing can be created there later anyway.
    """

    read_only: tuple[str, ...]
    """Files or folders the process may read and execute (programs, libraries, data)."""
    read_write: tuple[str, ...]
    """Folders the process may read, write, create in, remove from, truncate and
    execute from, below them (execute: GRASS runs the batch script QGIS writes in its
    temporary folder). A file listed here (e.g. /dev/null) gets read/write/truncate."""
    max_file_size: int | None = None
    """RLIMIT_FSIZE for this process and its children, so a job cannot fill the disk
    with one file; SIGXFSZ is ignored so a write past it fails with EFBIG instead of
    killing the process."""


@dataclass(frozen=True)
class Protections:
    """What the kernel actually gave (`enter`'s answer)."""

    landlock_abi: int
    """The kernel's Landlock ABI version, 0 when Landlock is absent or disabled."""
    filesystem: bool
    """Landlock file rules are in force (ABI >= 1)."""
    tcp: bool
    """Landlock denies every TCP bind and connect (ABI >= 4)."""
    scoped: bool
    """Signals and abstract unix sockets to processes outside the sandbox are refused
    (ABI >= 6)."""
    seccomp: bool
    """The syscall filter (`_DENIED`) is loaded."""

    def missing(self) -> list[str]:
        """One sentence per protection not in force, naming the kernel feature (or
        package) it needs, for logs and for the worker's refusal message."""
        return list(self._missing_by_name().values())

    def _missing_by_name(self) -> dict[str, str]:
        abi = f"this kernel reports Landlock ABI {self.landlock_abi}"
        sentences = {}
        if not self.filesystem:
            sentences["filesystem"] = (
                "File access is not restricted: it needs Landlock (Linux 5.13+, "
                "CONFIG_SECURITY_LANDLOCK=y and 'landlock' in the lsm= boot parameter); "
                f"{abi}.")
        if not self.tcp:
            sentences["tcp"] = (
                "TCP bind/connect is not restricted by Landlock: it needs Landlock ABI 4 "
                f"(Linux 6.7+); {abi}.")
        if not self.scoped:
            sentences["scoped"] = (
                "Signals and abstract unix sockets to processes outside the sandbox are not "
                f"refused: it needs Landlock ABI 6 (Linux 6.12+); {abi}.")
        if not self.seccomp:
            need = ("the python3-seccomp package (libseccomp's Python module), which is not "
                    "installed" if _seccomp is None else
                    "a kernel with CONFIG_SECCOMP_FILTER and the python3-seccomp package")
            sentences["seccomp"] = (
                "The syscall filter (no new sockets, io_uring, ptrace, bpf, mount...) is not "
                f"loaded: it needs {need}.")
        return sentences


def required_missing(protections: Protections, required: str) -> list[str]:
    """The sentences of `protections.missing()` that the `required` setting cannot do
    without, so the worker refuses to run jobs (non-empty) or runs them (empty).

    * "all": file rules, network (Landlock TCP *or* the seccomp filter: either keeps
      the process from reaching our services; seccomp stops new sockets, Landlock TCP
      also covers inherited ones) and the seccomp filter. The ABI 6 scopes are not
      required: with them "all" would need Linux 6.12+, while it is met by Debian 12's
      own kernel (6.1, Landlock ABI 2) with seccomp.
    * "filesystem": file rules and the seccomp filter.
    * "none": nothing (development machines without Landlock).
    """
    if required not in ("all", "filesystem", "none"):
        raise ValueError(f"required must be 'all', 'filesystem' or 'none', not {required!r}")
    if required == "none":
        return []
    missing = protections._missing_by_name()
    names = ["filesystem"]
    if required == "all" and not protections.seccomp:  # seccomp also covers the network
        names.append("tcp")
    names.append("seccomp")
    return [missing[name] for name in names if name in missing]


# --- Landlock (include/uapi/linux/landlock.h) --------------------------------------------
# The syscall numbers are the same on every architecture but alpha (added after the
# 424 unification); these are x86_64's.
_SYS_LANDLOCK_CREATE_RULESET = 444
_SYS_LANDLOCK_ADD_RULE = 445
_SYS_LANDLOCK_RESTRICT_SELF = 446
_CREATE_RULESET_VERSION = 1 << 0
_RULE_PATH_BENEATH = 1

_FS_EXECUTE = 1 << 0
_FS_WRITE_FILE = 1 << 1
_FS_READ_FILE = 1 << 2
_FS_READ_DIR = 1 << 3
_FS_REMOVE_DIR = 1 << 4
_FS_REMOVE_FILE = 1 << 5
_FS_MAKE_CHAR = 1 << 6
_FS_MAKE_DIR = 1 << 7
_FS_MAKE_REG = 1 << 8
_FS_MAKE_SOCK = 1 << 9
_FS_MAKE_FIFO = 1 << 10
_FS_MAKE_BLOCK = 1 << 11
_FS_MAKE_SYM = 1 << 12
_FS_REFER = 1 << 13  # ABI 2: link/rename across folders (denied outright when not handled)
_FS_TRUNCATE = 1 << 14  # ABI 3
_FS_IOCTL_DEV = 1 << 15  # ABI 5

_NET_BIND_TCP = 1 << 0  # ABI 4
_NET_CONNECT_TCP = 1 << 1  # ABI 4
_SCOPE_ABSTRACT_UNIX_SOCKET = 1 << 0  # ABI 6
_SCOPE_SIGNAL = 1 << 1  # ABI 6

# Rights Landlock accepts on a rule for a file (the others only make sense on folders).
_FILE_RIGHTS = _FS_EXECUTE | _FS_WRITE_FILE | _FS_READ_FILE | _FS_TRUNCATE | _FS_IOCTL_DEV
_READ_ONLY_RIGHTS = _FS_EXECUTE | _FS_READ_FILE | _FS_READ_DIR
# Everything but device nodes (mknod needs CAP_MKNOD, dropped anyway) and device
# ioctls (no device lives in a job folder; a listed /dev/null needs none).
_READ_WRITE_RIGHTS = (_READ_ONLY_RIGHTS | _FS_WRITE_FILE | _FS_REMOVE_DIR | _FS_REMOVE_FILE
                      | _FS_MAKE_DIR | _FS_MAKE_REG | _FS_MAKE_SOCK | _FS_MAKE_FIFO
                      | _FS_MAKE_SYM | _FS_REFER | _FS_TRUNCATE)


def _fs_rights(abi: int) -> int:
    """Every file-system right the kernel's ABI knows: asking for an unknown one makes
    create_ruleset fail with EINVAL, and a right not handled is simply allowed."""
    rights = (1 << 13) - 1  # ABI 1: bits 0-12
    if abi >= 2:
        rights |= _FS_REFER
    if abi >= 3:
        rights |= _FS_TRUNCATE
    if abi >= 5:
        rights |= _FS_IOCTL_DEV
    return rights


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1  # the kernel's struct is __attribute__((packed)): 12 bytes
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long
_libc.prctl.restype = ctypes.c_int
_libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong,
                        ctypes.c_ulong]


def _check(result: int, what: str) -> int:
    if result < 0:
        err = ctypes.get_errno()
        raise SandboxError(f"{what} failed: {os.strerror(err)} (errno {err})")
    return result


def landlock_abi() -> int:
    """The Landlock ABI version of the running kernel; 0 when Landlock is not built in
    (ENOSYS) or not enabled at boot (EOPNOTSUPP)."""
    result = _libc.syscall(ctypes.c_long(_SYS_LANDLOCK_CREATE_RULESET), None,
                           ctypes.c_size_t(0), ctypes.c_uint32(_CREATE_RULESET_VERSION))
    return max(int(result), 0)


def available() -> Protections:
    """What `enter` would give on this machine, confining nothing: the node checks it
    before it starts any QGIS process."""
    abi = landlock_abi()
    return Protections(landlock_abi=abi, filesystem=abi >= 1, tcp=abi >= 4, scoped=abi >= 6,
                       seccomp=_seccomp is not None)


def _landlock(policy: SandboxPolicy, abi: int) -> None:
    """Builds the ruleset for `policy` and applies it to this thread (and its future
    children); irreversible."""
    fields = [_fs_rights(abi)]  # handled_access_fs
    if abi >= 4:
        fields.append(_NET_BIND_TCP | _NET_CONNECT_TCP)  # handled_access_net, no port rule
    if abi >= 6:
        fields.append(_SCOPE_ABSTRACT_UNIX_SOCKET | _SCOPE_SIGNAL)  # scoped
    # The size tells the kernel which fields we pass; a larger struct with zeroed fields
    # would also do on new kernels but old ones reject sizes they do not know (E2BIG).
    attr = (ctypes.c_uint64 * len(fields))(*fields)
    ruleset = _check(_libc.syscall(ctypes.c_long(_SYS_LANDLOCK_CREATE_RULESET),
                                   ctypes.byref(attr), ctypes.c_size_t(ctypes.sizeof(attr)),
                                   ctypes.c_uint32(0)), "landlock_create_ruleset")
    try:
        handled = fields[0]
        for paths, rights in ((policy.read_only, _READ_ONLY_RIGHTS),
                              (policy.read_write, _READ_WRITE_RIGHTS)):
            for path in paths:
                _add_path_rule(ruleset, path, rights & handled)
        _check(_libc.syscall(ctypes.c_long(_SYS_LANDLOCK_RESTRICT_SELF), ctypes.c_int(ruleset),
                             ctypes.c_uint32(0)), "landlock_restrict_self")
    finally:
        os.close(ruleset)


def _add_path_rule(ruleset: int, path: str, rights: int) -> None:
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)  # follows symlinks: rules are on targets
    except FileNotFoundError:
        return  # nothing there to protect or allow
    try:
        if not stat.S_ISDIR(os.fstat(fd).st_mode):
            rights &= _FILE_RIGHTS  # Landlock refuses folder-only rights on a file (EINVAL)
        rule = _PathBeneathAttr(allowed_access=rights, parent_fd=fd)
        _check(_libc.syscall(ctypes.c_long(_SYS_LANDLOCK_ADD_RULE), ctypes.c_int(ruleset),
                             ctypes.c_int(_RULE_PATH_BENEATH), ctypes.byref(rule),
                             ctypes.c_uint32(0)), f"landlock_add_rule for {path}")
    finally:
        os.close(fd)


# --- privileges ---------------------------------------------------------------------------
_PR_SET_DUMPABLE = 4
_PR_CAPBSET_READ = 23
_PR_CAPBSET_DROP = 24
_PR_SET_NO_NEW_PRIVS = 38
_PR_CAP_AMBIENT = 47
_PR_CAP_AMBIENT_CLEAR_ALL = 4
_LINUX_CAPABILITY_VERSION_3 = 0x20080522
_CAP_SETPCAP = 8


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                ("inheritable", ctypes.c_uint32)]


def _prctl(option: int, arg2: int = 0, what: str = "") -> int:
    return _check(_libc.prctl(option, arg2, 0, 0, 0), what or f"prctl({option})")


def _capget() -> tuple[int, int, int]:
    header = _CapHeader(_LINUX_CAPABILITY_VERSION_3, 0)
    data = (_CapData * 2)()
    _check(_libc.capget(ctypes.byref(header), data), "capget")
    effective, permitted, inheritable = (
        getattr(data[0], name) | getattr(data[1], name) << 32
        for name in ("effective", "permitted", "inheritable"))
    return effective, permitted, inheritable


def _last_cap() -> int:
    """The highest capability number this kernel knows (read before /proc is closed)."""
    try:
        with open("/proc/sys/kernel/cap_last_cap") as f:
            return int(f.read())
    except OSError:
        return 63  # PR_CAPBSET_DROP answers EINVAL past the last one; tolerated below


def _drop_capabilities(last_cap: int) -> None:
    """Empties the bounding, ambient, effective, permitted and inheritable sets.

    The bounding set first (dropping it needs CAP_SETPCAP, which goes last): with it
    empty a child that execs as uid 0 gets no capability back."""
    effective, permitted, inheritable = _capget()
    if effective >> _CAP_SETPCAP & 1:
        for cap in range(last_cap + 1):
            if _libc.prctl(_PR_CAPBSET_DROP, cap, 0, 0, 0) < 0:
                err = ctypes.get_errno()
                if err == errno.EINVAL:  # past the kernel's last capability
                    break
                raise SandboxError(f"PR_CAPBSET_DROP({cap}) failed: {os.strerror(err)}")
    elif os.geteuid() == 0 and any(_libc.prctl(_PR_CAPBSET_READ, cap, 0, 0, 0) == 1
                                   for cap in range(last_cap + 1)):
        raise SandboxError("running as root without CAP_SETPCAP: cannot empty the "
                           "capability bounding set")
    # Ambient capabilities exist since Linux 4.3; EINVAL before, with nothing to clear.
    if _libc.prctl(_PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 \
            and ctypes.get_errno() != errno.EINVAL:
        _check(-1, "PR_CAP_AMBIENT_CLEAR_ALL")
    if effective or permitted or inheritable:
        header = _CapHeader(_LINUX_CAPABILITY_VERSION_3, 0)
        data = (_CapData * 2)()  # all zero
        _check(_libc.capset(ctypes.byref(header), data), "capset")
    if any(_capget()):
        raise SandboxError("capabilities are still held after capset")


def _single_threaded() -> bool:
    """Landlock (before ABI 8's all-threads flag), capset and no_new_privs act on the
    calling thread only: a thread already running would stay unconfined."""
    try:
        return len(os.listdir("/proc/self/task")) == 1
    except OSError:
        return threading.active_count() == 1


# --- seccomp ------------------------------------------------------------------------------
# Refused with EPERM; everything else is allowed (a default-deny list would break on
# every new glibc or GDAL release). socketpair, pipes and I/O on inherited fds stay.
_DENIED = (
    "socket",  # no new socket of any family: TCP/UDP/raw, netlink, AF_UNIX to D-Bus or
               # the Docker socket; the process talks to its worker over inherited pipes
    "io_uring_setup",  # io_uring can open files and sockets without the syscalls below
    "io_uring_enter",  # (IORING_OP_SOCKET, OPENAT...) and is a frequent kernel-bug source
    "io_uring_register",
    "ptrace",  # reading or steering another process (or a child) of ours
    "process_vm_readv",  # reading another process's memory
    "process_vm_writev",  # writing another process's memory
    "pidfd_open",  # handle on another process, the first step to pidfd_getfd
    "pidfd_getfd",  # stealing another process's file descriptors (sockets, secrets)
    "kcmp",  # probing other processes' fds and memory layout
    "bpf",  # loading kernel programs / reading maps
    "perf_event_open",  # side channels on the host and other processes
    "userfaultfd",  # pausing the kernel mid-copy: a classic kernel-exploit primitive
    "keyctl",  # the kernel keyrings may hold other services' keys
    "add_key",  # (same)
    "request_key",  # (same)
    "open_by_handle_at",  # opens files by inode handle, bypassing paths and Landlock
    "name_to_handle_at",  # (the other half of the above)
    "mount",  # no remounting or bind-mounting around the file rules
    "umount2",  # (same)
    "pivot_root",  # (same)
    "unshare",  # new user/net/mount namespaces would expose far more kernel surface
    "setns",  # joining another process's namespaces
    "init_module",  # loading kernel modules
    "finit_module",  # (same)
    "kexec_load",  # replacing the kernel
    "reboot",  # taking the machine down
    "swapon",  # fiddling with the host's swap
    "swapoff",  # (same)
)


def _load_seccomp() -> bool:
    """Loads the deny-list filter; False when python3-seccomp is absent or the kernel
    has no seccomp filters (EINVAL on load)."""
    if _seccomp is None:
        return False
    flt = _seccomp.SyscallFilter(defaction=_seccomp.ALLOW)
    # Other architectures' syscalls (int 0x80, x32) must not slip past the list.
    flt.set_attr(_seccomp.Attr.ACT_BADARCH, _seccomp.KILL_PROCESS)
    deny = _seccomp.ERRNO(errno.EPERM)
    for name in _DENIED:
        if _seccomp.resolve_syscall(_seccomp.Arch.NATIVE, name) < 0:
            continue  # unknown to this libseccomp or architecture
        flt.add_rule(deny, name)
    try:
        flt.load()
    except (OSError, RuntimeError, ValueError):
        return False
    return True


# --- the whole ----------------------------------------------------------------------------
def enter(policy: SandboxPolicy) -> Protections:
    """Confines this process and its future children, irreversibly, and says what the
    kernel gave. Call it from the main thread while the process has no other thread.

    Order: no_new_privs (Landlock and seccomp need it, and it stops exec gains),
    not dumpable, capabilities dropped, RLIMIT_FSIZE, Landlock, then the seccomp
    filter last, so that it never has to allow what the setup itself calls.
    Raises SandboxError, before changing anything, when other threads run.
    """
    if not _single_threaded():
        raise SandboxError("the process runs several threads; only the calling one would "
                           "be confined: enter the sandbox before starting any thread "
                           "(QGIS starts several)")
    last_cap = _last_cap()  # /proc is out of reach once Landlock is on
    abi = landlock_abi()

    _prctl(_PR_SET_NO_NEW_PRIVS, 1, "PR_SET_NO_NEW_PRIVS")
    _prctl(_PR_SET_DUMPABLE, 0, "PR_SET_DUMPABLE")
    _drop_capabilities(last_cap)

    if policy.max_file_size is not None:
        # SIG_IGN survives exec, so children too get EFBIG (Python's subprocess resets
        # SIGXFSZ to default in its children unless restore_signals=False).
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        else:
            _libc.signal(signal.SIGXFSZ, ctypes.c_void_p(1))  # SIG_IGN
        size = max(int(policy.max_file_size), 0)
        _, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
        if hard != resource.RLIM_INFINITY:
            size = min(size, hard)
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))  # hard too: no raising back

    if abi >= 1:
        _landlock(policy, abi)
    filtered = _load_seccomp()
    return Protections(landlock_abi=abi, filesystem=abi >= 1, tcp=abi >= 4, scoped=abi >= 6,
                       seccomp=filtered)
