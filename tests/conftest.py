"""Shared fixtures: the project's reference data beside the repository, and small structures."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

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
