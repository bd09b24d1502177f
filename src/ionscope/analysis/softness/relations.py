"""What softness is related to: anion units around each Li, order along an axis, Voronoi
volume, per-atom energy, and migration barriers of soft and hard Li (Chen et al. 2023, 2025)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
from ase.mep import NEB
from ase.optimize import FIRE
from scipy import stats

from ...io.frame import fractional_positions
from ..base import as_snapshot, neighbor_pairs
from ..structure.speciation import classify_units

UNIT_TYPES = ("PS4", "P2S7", "P2S6")


def unit_environment(system, centres: np.ndarray | None = None, radius: float = 5.0,
                     ps_cutoff: float = 2.6) -> dict[str, np.ndarray]:
    """For every Li (or ``centres``): the fraction of the S atoms within ``radius`` that belong
    to PS4³⁻, P2S7⁴⁻ and P2S6⁴⁻ units (Chen et al., ACS Energy Lett. 2023)."""
    snap = as_snapshot(system)
    centres = snap.indices("Li") if centres is None else np.asarray(centres)
    labels = classify_units(snap, ps_cutoff=ps_cutoff)["labels"]
    i, j = neighbor_pairs(snap, radius, "ij")
    is_centre = np.zeros(len(snap.symbols), bool)
    is_centre[centres] = True
    keep = is_centre[i] & (snap.symbols[j] == "S")
    i, j = i[keep], j[keep]
    total = np.bincount(i, minlength=len(snap.symbols))[centres].astype(float)
    out = {}
    for unit in UNIT_TYPES:
        count = np.bincount(i[labels[j] == unit], minlength=len(snap.symbols))[centres]
        with np.errstate(invalid="ignore", divide="ignore"):
            out[unit] = np.where(total > 0, count / total, np.nan)
    return out


def correlate(softness: np.ndarray, quantities: dict[str, np.ndarray]) -> dict[str, dict]:
    """Pearson r (and p value) of softness with each quantity, ignoring NaNs."""
    out = {}
    for name, values in quantities.items():
        ok = np.isfinite(softness) & np.isfinite(values)
        if ok.sum() < 3 or np.std(values[ok]) == 0:
            out[name] = {"pearson_r": np.nan, "p_value": np.nan, "n": int(ok.sum())}
            continue
        r, p = stats.pearsonr(softness[ok], values[ok])
        out[name] = {"pearson_r": float(r), "p_value": float(p), "n": int(ok.sum())}
    return out


def axis_profile(values: np.ndarray, positions: np.ndarray, cell: np.ndarray, axis: int = 2,
                 bins: int = 20) -> SimpleNamespace:
    """Mean of per-atom ``values`` in slabs along cell axis ``axis`` (fractional bins)."""
    frac = fractional_positions(positions, cell)[:, axis]
    edges = np.linspace(0, 1, bins + 1)
    index = np.minimum((frac * bins).astype(int), bins - 1)
    sums = np.bincount(index, weights=values, minlength=bins)
    counts = np.bincount(index, minlength=bins)
    with np.errstate(invalid="ignore"):
        mean = sums / counts
    length = np.linalg.norm(np.asarray(cell)[axis])
    return SimpleNamespace(z=0.5 * (edges[1:] + edges[:-1]) * length, mean=mean, counts=counts)


def atomic_energies(model, system) -> np.ndarray:
    """Per-atom potential energies (eV) from a DeePMD model (its atomic energy decomposition)."""
    from deepmd.infer import DeepPot

    snap = as_snapshot(system)
    pot = DeepPot(str(model))
    type_map = pot.get_type_map()
    atype = np.array([type_map.index(s) for s in snap.symbols])
    result = pot.eval(snap.positions.reshape(1, -1), snap.cell.reshape(1, 9), atype, atomic=True)
    return np.asarray(result[3]).reshape(-1)


def migration_barrier(atoms, mover: int, target: int, calculator, n_images: int = 7,
                      fmax: float = 0.05, steps: int = 300, climb: bool = True) -> SimpleNamespace:
    """Climbing-image NEB barrier (eV) for Li ``mover`` hopping into the site of Li ``target``,
    which is removed to leave the vacancy (ASE NEB; ``calculator`` e.g. DeePMD's ASE ``DP``).
    End points are relaxed with the other atoms free."""
    start = atoms.copy()
    site = atoms.positions[target].copy()
    del start[target]
    mover_index = mover - (mover > target)
    end = start.copy()
    end.positions[mover_index] = site
    for image in (start, end):
        image.calc = calculator
        FIRE(image, logfile=None).run(fmax=fmax, steps=steps)
    images = [start] + [start.copy() for _ in range(n_images)] + [end]
    for image in images[1:-1]:
        image.calc = calculator
    neb = NEB(images, climb=climb, method="improvedtangent", allow_shared_calculator=True)
    neb.interpolate(mic=True)
    FIRE(neb, logfile=None).run(fmax=fmax, steps=steps)
    energies = np.array([image.get_potential_energy() for image in images])
    return SimpleNamespace(barrier=float(energies.max() - energies[0]),
                           reverse_barrier=float(energies.max() - energies[-1]),
                           energies=energies - energies[0],
                           distance=float(np.linalg.norm(atoms.get_distance(mover, target, mic=True))))


def barrier_distributions(atoms, li: np.ndarray, softness: np.ndarray, calculator,
                          n_moves: int = 10, distance: tuple[float, float] = (5.0, 10.0),
                          seed: int = 0, **neb_options) -> dict[str, np.ndarray]:
    """NEB barriers of hops between the softest and hardest Li (upper and lower quartile of
    softness), ``n_moves`` random pairs per direction with the two sites ``distance`` Å apart:
    soft → hard (a soft Li moves into a hard Li's site) and hard → soft."""
    rng = np.random.default_rng(seed)
    soft = li[softness >= np.quantile(softness, 0.75)]
    hard = li[softness <= np.quantile(softness, 0.25)]
    out: dict[str, list] = {"soft->hard": [], "hard->soft": []}
    for key, (movers, targets) in {"soft->hard": (soft, hard), "hard->soft": (hard, soft)}.items():
        pairs = [(a, b) for a in movers for b in targets
                 if distance[0] <= atoms.get_distance(a, b, mic=True) <= distance[1]]
        for k in rng.permutation(len(pairs))[:n_moves]:
            a, b = pairs[k]
            out[key].append(migration_barrier(atoms, a, b, calculator, **neb_options).barrier)
    return {k: np.array(v) for k, v in out.items()}
