"""A seccomp filter for the sandbox, compiled with libseccomp (the C library bubblewrap's users rely on), as BPF.

Deny-list on top of the namespaces: every call here fails with EPERM (``clone3`` with ENOSYS, so the C library falls
back to ``clone``, whose flags can be checked). Blocked: tracing other processes and reading their memory, kernel
keyrings, BPF and perf, mounting and namespace changes (a new user namespace would give the sample capabilities over
its own namespaces), kernel modules, reboot and clocks, io_uring (a second system-call path seccomp cannot see),
userfaultfd, handles that bypass path lookup. No Python binding is needed: libseccomp is called through ctypes.
Where libseccomp is missing, ``compile_filter`` returns None and the sandbox records ``seccomp: False``.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
import tempfile
from functools import cache

DENIED = (
    "ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "pidfd_getfd",
    "keyctl", "add_key", "request_key",
    "bpf", "perf_event_open", "userfaultfd", "io_uring_setup", "io_uring_enter", "io_uring_register",
    "mount", "umount2", "pivot_root", "chroot", "unshare", "setns", "move_mount", "open_tree", "fsopen", "fsmount",
    "fsconfig", "fspick", "mount_setattr",
    "init_module", "finit_module", "delete_module", "kexec_load", "kexec_file_load", "reboot", "swapon", "swapoff",
    "acct", "settimeofday", "clock_settime", "clock_adjtime", "adjtimex", "syslog", "quotactl", "ioperm", "iopl",
    "open_by_handle_at", "name_to_handle_at", "lookup_dcookie", "personality", "uselib", "vhangup",
    "fanotify_init", "mbind", "migrate_pages", "move_pages", "set_mempolicy",
)  # fmt: skip
# CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWNS, CLONE_NEWCGROUP
CLONE_NEW = (0x10000000, 0x20000000, 0x40000000, 0x04000000, 0x08000000, 0x00020000, 0x02000000)
SCMP_ACT_ALLOW = 0x7FFF0000
SCMP_CMP_MASKED_EQ = 7


def _errno_action(code: int) -> int:
    return 0x00050000 | (code & 0xFFFF)  # SCMP_ACT_ERRNO(code)


class _ArgCmp(ctypes.Structure):  # struct scmp_arg_cmp
    _fields_ = [
        ("arg", ctypes.c_uint),
        ("op", ctypes.c_int),
        ("datum_a", ctypes.c_uint64),
        ("datum_b", ctypes.c_uint64),
    ]


@cache
def _library() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("seccomp")
    if name is None:
        return None
    try:
        lib = ctypes.CDLL(name, use_errno=True)
    except OSError:
        return None
    lib.seccomp_init.restype = ctypes.c_void_p
    lib.seccomp_init.argtypes = [ctypes.c_uint32]
    lib.seccomp_release.argtypes = [ctypes.c_void_p]
    lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
    lib.seccomp_rule_add_array.argtypes = [
        ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int, ctypes.c_uint, ctypes.POINTER(_ArgCmp),
    ]  # fmt: skip
    lib.seccomp_export_bpf.argtypes = [ctypes.c_void_p, ctypes.c_int]
    return lib


def _add(lib: ctypes.CDLL, ctx: int, action: int, name: str, *cmps: _ArgCmp) -> bool:
    nr = lib.seccomp_syscall_resolve_name(name.encode())
    if nr < 0:  # not a system call on this architecture
        return True
    array = (_ArgCmp * len(cmps))(*cmps) if cmps else None
    return lib.seccomp_rule_add_array(ctx, action, nr, len(cmps), array) == 0


@cache
def compile_filter() -> bytes | None:
    """The BPF program (what ``bwrap --seccomp FD`` reads), or None where libseccomp is missing or refuses."""
    lib = _library()
    if lib is None:
        return None
    ctx = lib.seccomp_init(SCMP_ACT_ALLOW)
    if not ctx:
        return None
    try:
        eperm = _errno_action(errno.EPERM)
        ok = all(_add(lib, ctx, eperm, name) for name in DENIED)
        ok = ok and _add(lib, ctx, _errno_action(errno.ENOSYS), "clone3")
        for flag in CLONE_NEW:  # clone(flags & flag == flag): a new namespace -> EPERM
            ok = ok and _add(lib, ctx, eperm, "clone", _ArgCmp(0, SCMP_CMP_MASKED_EQ, flag, flag))
        if not ok:
            return None
        with tempfile.TemporaryFile() as f:
            if lib.seccomp_export_bpf(ctx, f.fileno()) != 0:
                return None
            f.seek(0)
            return f.read()
    finally:
        lib.seccomp_release(ctx)


def filter_fd() -> int | None:
    """A readable descriptor holding the program (a pipe: bwrap reads it to the end), or None without a filter."""
    program = compile_filter()
    if program is None:
        return None
    read, write = os.pipe()
    os.write(write, program)  # a few hundred bytes: far below the pipe buffer
    os.close(write)
    return read
