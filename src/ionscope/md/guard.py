"""Guards around MD folders and LAMMPS processes.

* :func:`folder_lock` — one process per folder: an exclusive ``flock`` on ``FOLDER/.ionscope.lock``
  that the kernel releases when the last process holding it dies (SIGKILL included), so a lock is
  never stale; LAMMPS inherits it and keeps its folder locked for as long as it runs.
* :func:`start_tied` — LAMMPS in its own process group that dies with the process that started
  it (Linux ``prctl(PR_SET_PDEATHSIG)``), and :func:`stop_group` to end that group.
* :class:`Interrupted` — a KeyboardInterrupt (or SIGTERM) that says what was stopped.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import datetime as _dt
import fcntl
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Iterator

LOCK_NAME = ".ionscope.lock"
_PR_SET_PDEATHSIG = 1
_LIBC = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True) if sys.platform == "linux" else None


class BusyError(RuntimeError):
    """A folder is in use by another ionscope or LAMMPS process."""


class Interrupted(KeyboardInterrupt):
    """A run stopped by Ctrl-C or SIGTERM; the message says what stopped and where."""


@contextlib.contextmanager
def folder_lock(folder: str | os.PathLike, what: str, wait: float = 5.0) -> Iterator[int]:
    """Hold ``folder``'s lock for the block; if another process holds it for longer than
    ``wait`` seconds (a killed run's LAMMPS takes a moment to die), raise :class:`BusyError`
    naming the holder. Yields the lock's descriptor: a child given it (``pass_fds``) holds the
    lock too."""
    path = Path(folder) / LOCK_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    deadline = time.monotonic() + wait
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if time.monotonic() < deadline:
                time.sleep(0.1)
                continue
            holder = path.read_text().strip() or "another process"
            os.close(fd)
            raise BusyError(f"{folder} is in use by {holder}: wait for it to finish or stop it, "
                            "then run again") from None
    try:
        os.ftruncate(fd, 0)
        since = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
        os.write(fd, f"{what} (pid {os.getpid()} on {socket.gethostname()}, since {since})".encode())
        yield fd
    finally:
        os.close(fd)


def note_lock_holder(fd: int, text: str) -> None:
    """Add ``text`` (e.g. the LAMMPS pid) to what a held lock says about its holder."""
    os.lseek(fd, 0, os.SEEK_END)
    os.write(fd, f"; {text}".encode())


def _die_with(parent: int):
    def preexec() -> None:
        if _LIBC is not None:
            _LIBC.prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
        if os.getppid() != parent:     # the parent died before prctl took effect
            os._exit(1)
    return preexec


def start_tied(command: list[str], **popen_kwargs) -> subprocess.Popen:
    """Start ``command`` in its own process group, sent SIGTERM when this process (the thread
    that starts it) dies, however it dies."""
    return subprocess.Popen(command, process_group=0, preexec_fn=_die_with(os.getpid()),
                            **popen_kwargs)


_STOP = threading.Event()
_ACTIVE = 0                                  # LAMMPS runs of this process now
_CHANGED = threading.Condition()


@contextlib.contextmanager
def counted_run() -> Iterator[None]:
    """Count a LAMMPS run of this process while it lasts (see :func:`settle_runs`)."""
    global _ACTIVE
    with _CHANGED:
        _ACTIVE += 1
    try:
        yield
    finally:
        with _CHANGED:
            _ACTIVE -= 1
            _CHANGED.notify_all()


def stop_requested() -> bool:
    return _STOP.is_set()


def request_stop() -> None:
    """Ask every LAMMPS run of this process to stop (their restart files stay). Ctrl-C and
    SIGTERM reach only the main thread: runs in worker threads (the Dask executor) stop on this."""
    _STOP.set()


def settle_runs(wait: float = 60.0) -> None:
    """After :func:`request_stop`: wait up to ``wait`` seconds for the runs to end, then let new
    runs start."""
    if not _STOP.is_set():
        return
    try:
        with _CHANGED:
            _CHANGED.wait_for(lambda: _ACTIVE == 0, timeout=wait)
    finally:
        _STOP.clear()


def stop_group(proc: subprocess.Popen, grace: float = 10.0) -> None:
    """End ``proc``'s process group (SIGTERM, then SIGKILL after ``grace`` seconds) and reap it."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, None)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(wait)
            return
