"""Structures that ship with ionscope (see README.md in this folder for their sources)."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from ase.io import read


def data_path(name: str) -> Path:
    """Path of a bundled file, e.g. ``data_path("crystals/beta-Li3PS4.cif")``."""
    path = Path(str(files(__package__).joinpath(name)))
    if not path.exists():
        raise FileNotFoundError(f"{name}: not a bundled ionscope data file")
    return path


def crystal(name: str):
    """A bundled crystal (``"beta-Li3PS4"`` or ``"gamma-Li3PS4"``) as an ASE ``Atoms``."""
    return read(data_path(f"crystals/{name}.cif"))

