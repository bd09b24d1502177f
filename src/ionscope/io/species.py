"""Chemical species of atoms: validation, selection by species and LAMMPS type maps."""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
from ase.data import atomic_numbers

from .frame import TrajectoryFormatError


def check_symbols(symbols: Sequence[str], source: str) -> np.ndarray:
    """The symbols (surrounding blanks removed) as an array; an unknown chemical symbol is an
    error naming ``source``."""
    symbols = [str(s).strip() for s in symbols]
    unknown = sorted(set(symbols) - set(atomic_numbers))
    if unknown:
        raise TrajectoryFormatError(f"{source}: unknown species {unknown} (not chemical symbols)")
    return np.asarray(symbols)


def species_indices(symbols: Sequence[str], species: str | Sequence[str] | None,
                    source: str) -> np.ndarray:
    """Indices of the atoms of one or several species (all atoms for None); a species absent
    from ``symbols`` is an error naming ``source`` and the species present."""
    symbols = np.asarray(symbols)
    if species is None:
        return np.arange(len(symbols))
    wanted = [species] if isinstance(species, str) else list(species)
    present = list(dict.fromkeys(symbols.tolist()))
    unknown = set(wanted) - set(present)
    if unknown:
        raise ValueError(f"{source}: unknown species {sorted(unknown)}; it has {present}")
    return np.flatnonzero(np.isin(symbols, wanted))


def symbols_from_types(types: np.ndarray, type_map: Sequence[str] | Mapping[int, str] | None,
                       source: str) -> np.ndarray:
    """Map LAMMPS integer types (1-based) to symbols with ``type_map`` (a list for types 1, 2, …
    or a mapping type → symbol)."""
    if type_map is None:
        raise TrajectoryFormatError(
            f"{source}: atoms are identified by LAMMPS type only; pass type_map, e.g. "
            f"type_map=['Li', 'P', 'S'] for types 1, 2, 3")
    mapping = {int(t): str(s).strip() for t, s in type_map.items()} \
        if isinstance(type_map, Mapping) else {i + 1: str(s).strip() for i, s in enumerate(type_map)}
    check_symbols(list(mapping.values()), f"{source}: type_map")
    missing = sorted(set(np.unique(types).tolist()) - set(mapping))
    if missing:
        raise TrajectoryFormatError(
            f"{source}: unknown species: LAMMPS type(s) {missing} are not in type_map {mapping}")
    return check_symbols([mapping[int(t)] for t in types], source)
