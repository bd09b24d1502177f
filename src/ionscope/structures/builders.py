"""Builders of the starting structures of the MD protocols.

* :func:`crystal_supercell` — a CIF (or a bundled crystal) repeated to a target size, with a
  chosen crystal axis along a box axis;
* :func:`random_packing` — atoms of a composition placed at random at a given density with a
  minimum-distance rule, the start of a melt-quench;
* :func:`glass_ceramic_cell` — a crystal supercell whose atoms outside a slab of chosen
  thickness are marked for melting (the frozen crystal slab of the papers' construction).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.data import atomic_masses, atomic_numbers
from ase.io import read

from ..data import crystal as bundled

_AMU_PER_A3_TO_G_CM3 = 1.66053906660


def _load(crystal) -> Atoms:
    if isinstance(crystal, Atoms):
        return crystal.copy()
    path = Path(str(crystal))
    if path.is_file() or path.suffix.lower() == ".cif":
        return read(path)
    return bundled(str(crystal))     # a bundled name, even where a folder of that name exists


def crystal_supercell(crystal, target_atoms: int | None = None,
                      repeat: tuple[int, int, int] | None = None, axis: int | None = None) -> Atoms:
    """Repeat a crystal (ASE ``Atoms``, CIF path or bundled name such as ``"beta-Li3PS4"``).

    Give ``repeat`` explicitly, or ``target_atoms`` to choose the most cubic repetition with at
    least that many atoms. ``axis`` (0, 1, 2) moves that crystal axis to the box z axis (cyclic
    permutation, keeping the cell right-handed), as glass-ceramic slabs need.
    """
    unit = _load(crystal)
    if repeat is None:
        if target_atoms is None:
            raise ValueError("give repeat=(na, nb, nc) or target_atoms")
        lengths = unit.cell.lengths()
        best = None
        for na in range(1, 13):
            for nb in range(1, 13):
                for nc in range(1, 13):
                    n = len(unit) * na * nb * nc
                    if n < target_atoms or n > 2 * target_atoms + len(unit):
                        continue
                    edges = lengths * (na, nb, nc)
                    score = (n - target_atoms) / target_atoms + edges.max() / edges.min() - 1
                    if best is None or score < best[0]:
                        best = (score, (na, nb, nc))
        if best is None:
            raise ValueError(f"no repetition of {len(unit)} atoms reaches {target_atoms}")
        repeat = best[1]
    cell = unit.repeat(tuple(int(r) for r in repeat))
    if axis is not None and axis != 2:
        order = [(axis + 1) % 3, (axis + 2) % 3, axis]
        scaled = cell.get_scaled_positions()[:, order]
        new = Atoms(cell.get_chemical_symbols(), cell=cell.cell.array[order], pbc=True)
        new.set_scaled_positions(scaled)
        cell = new
    cell.wrap()
    return cell


def xli2s_p2s5_formula(x: float) -> dict[str, float]:
    """Atoms per formula unit of xLi2S–(100−x)P2S5 (x in mol %)."""
    if not 0 < x < 100:
        raise ValueError(f"x must be in (0, 100) mol % Li2S, got {x}")
    f = x / 100
    return {"Li": 2 * f, "P": 2 * (1 - f), "S": f + 5 * (1 - f)}


_XLI2S = re.compile(r"\s*(\d+(?:\.\d*)?)\s*Li2S\s*[-–]\s*(\d+(?:\.\d*)?)\s*P2S5\s*")
_FORMULA = re.compile(r"(?:[A-Z][a-z]?(?:\d+(?:\.\d*)?|\.\d+)?)+")


def composition_ratios(composition: str | dict) -> dict[str, float]:
    """Atoms per formula unit of ``"75Li2S-25P2S5"`` (mol %, adding up to 100), of a formula
    (``"Li3PS4"``, ``"LiP0.465S1.605"``: element symbols and positive amounts, nothing else)
    or of a mapping; anything else is refused with the reason."""
    if not isinstance(composition, str):
        ratios = {str(el): float(v) for el, v in dict(composition).items()}
    elif match := _XLI2S.fullmatch(composition):
        x, y = float(match.group(1)), float(match.group(2))
        if abs(x + y - 100) > 1e-6:
            raise ValueError(f"composition {composition!r}: the mol % of Li2S and P2S5 must add "
                             f"up to 100 (got {x:g} + {y:g} = {x + y:g})")
        ratios = xli2s_p2s5_formula(x)
    elif _FORMULA.fullmatch(composition.replace(" ", "")):
        ratios = {}
        for el, n in re.findall(r"([A-Z][a-z]?)([\d.]*)", composition.replace(" ", "")):
            ratios[el] = ratios.get(el, 0.0) + (float(n) if n else 1.0)
    else:
        raise ValueError(f"cannot parse composition {composition!r}: give a formula such as "
                         f"\"Li3PS4\" or \"LiP0.465S1.605\", or \"75Li2S-25P2S5\"")
    unknown = sorted(set(ratios) - set(atomic_numbers))
    if unknown or not ratios:
        raise ValueError(f"composition {composition!r}: unknown element(s) {unknown}")
    if any(not v > 0 for v in ratios.values()):
        raise ValueError(f"composition {composition!r}: every amount must be positive, got {ratios}")
    return ratios


def composition_counts(composition: str | dict, n_atoms: int) -> dict[str, int]:
    """Integer atom counts closest to ``n_atoms`` for a composition (see
    :func:`composition_ratios`); an element that would get no atom is an error."""
    ratios = composition_ratios(composition)
    scale = n_atoms / sum(ratios.values())
    counts = {el: int(round(v * scale)) for el, v in ratios.items()}
    if missing := [el for el, c in counts.items() if c == 0]:
        raise ValueError(f"composition {composition!r} in {n_atoms} atoms leaves no {missing} "
                         "atom: use more atoms")
    return counts


def random_packing(counts: dict[str, int], density: float, min_distance: float = 1.8,
                   seed: int = 0, max_tries: int = 2000) -> Atoms:
    """Atoms placed uniformly at random in a cubic box of mass ``density`` (g/cm³), every pair
    at least ``min_distance`` Å apart (periodic), by sequential random insertion."""
    symbols = [el for el, c in counts.items() for _ in range(c)]
    mass = sum(atomic_masses[atomic_numbers[s]] for s in symbols)
    length = (mass / density * _AMU_PER_A3_TO_G_CM3) ** (1 / 3)
    rng = np.random.default_rng(seed)
    rng.shuffle(symbols)
    # cell list on a grid of spacing ≥ min_distance
    n_grid = max(1, int(length // min_distance))
    grid: dict[tuple, list[int]] = {}
    positions = np.empty((len(symbols), 3))
    for k in range(len(symbols)):
        for _ in range(max_tries):
            p = rng.uniform(0, length, 3)
            cell = tuple((p / length * n_grid).astype(int) % n_grid)
            near = [q for d in np.ndindex(3, 3, 3)
                    for q in grid.get(tuple((np.array(cell) + np.array(d) - 1) % n_grid), [])]
            if near:
                delta = positions[near] - p
                delta -= length * np.round(delta / length)
                if np.min(np.einsum("ij,ij->i", delta, delta)) < min_distance ** 2:
                    continue
            positions[k] = p
            grid.setdefault(cell, []).append(k)
            break
        else:
            raise ValueError(f"could not place atom {k + 1} of {len(symbols)} with min_distance "
                             f"{min_distance} Å at {density} g/cm³; lower one of them")
    atoms = Atoms(symbols, positions=positions, cell=np.eye(3) * length, pbc=True)
    atoms.info.update(density=density, min_distance=min_distance, seed=seed)
    return atoms


def glass_ceramic_cell(crystal, crystal_fraction: float = 0.5, axis: int = 2,
                       target_atoms: int | None = None, repeat=None) -> Atoms:
    """A crystal supercell elongated along ``axis`` in which the atoms of a central slab (the
    ``crystal_fraction`` of the box length) are marked frozen (``atoms.arrays['frozen']``); the
    rest is melted and quenched around it by :func:`ionscope.md.protocols.glass_ceramic`,
    which is the construction of Chen et al. (2025)."""
    if not 0 < crystal_fraction < 1:
        raise ValueError(f"crystal_fraction must be in (0, 1), got {crystal_fraction}")
    cell = crystal_supercell(crystal, target_atoms=target_atoms, repeat=repeat, axis=axis)
    z = cell.get_scaled_positions()[:, 2]
    half = crystal_fraction / 2
    frozen = np.abs(z - 0.5) < half
    cell.arrays["frozen"] = frozen.astype(int)
    cell.info["crystal_fraction"] = float(frozen.mean())
    return cell
