"""Interatomic potentials as LAMMPS sees them: pair_style/pair_coeff lines plus the files they
need, with a content hash for provenance."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from ..provenance import sha256_file


@dataclass
class Potential:
    """A LAMMPS potential. ``species`` is the element order of the model (LAMMPS types 1, 2, …
    are mapped to it by name in ``pair_coeff``); ``coeff_args`` come before the element names in
    ``pair_coeff`` (parameter files of POD, SNAP …)."""

    name: str
    pair_style: str
    species: list[str]
    files: list[Path] = field(default_factory=list)
    kind: str = "deepmd"
    coeff_args: list[str] = field(default_factory=list)

    def lammps_lines(self, type_order: list[str]) -> list[str]:
        missing = set(type_order) - set(self.species)
        if missing:
            raise ValueError(f"potential {self.name!r} has no parameters for {sorted(missing)} "
                             f"(it covers {self.species})")
        return [f"pair_style {self.pair_style}",
                f"pair_coeff * * {' '.join([*self.coeff_args, *type_order])}"]

    @property
    def sha256(self) -> str:
        import hashlib

        digest = hashlib.sha256()
        for f in self.files:
            digest.update(sha256_file(f).encode())
        return digest.hexdigest()

    def environment(self) -> dict[str, str]:
        """Environment for LAMMPS: with DeePMD's PyTorch backend, libtorch's BLAS must win over
        the one linked into liblammps, or LAMMPS runs about 10× slower."""
        env = dict(os.environ)
        if self.kind == "deepmd":
            import importlib.util

            spec = importlib.util.find_spec("torch")
            if spec and spec.origin:
                lib = Path(spec.origin).parent / "lib" / "libtorch_cpu.so"
                if lib.exists():
                    env["LD_PRELOAD"] = ":".join(filter(None, [str(lib), env.get("LD_PRELOAD")]))
        return env


def deepmd_potential(model: str | os.PathLike, name: str | None = None) -> Potential:
    """A frozen or compressed DeePMD model (``.pth``) for ``pair_style deepmd``."""
    model = Path(model).resolve()
    if not model.is_file():
        raise FileNotFoundError(f"{model}: no such DeePMD model")
    type_map = _deepmd_type_map(model)
    return Potential(name or model.stem, f"deepmd {model}", type_map, [model], kind="deepmd")


def _deepmd_type_map(model: Path) -> list[str]:
    from deepmd.infer import DeepPot

    return list(DeepPot(str(model)).get_type_map())


def pod_potential(param: str | os.PathLike, coefficients: str | os.PathLike,
                  name: str | None = None) -> Potential:
    """A POD potential (``pair_style pod``): the descriptor file and the fitted coefficients."""
    param, coefficients = Path(param).resolve(), Path(coefficients).resolve()
    for f in (param, coefficients):
        if not f.is_file():
            raise FileNotFoundError(f"{f}: no such POD file")
    species = None
    for line in param.read_text().splitlines():
        words = line.split()
        if words and words[0] == "species":
            species = words[1:]
    if not species:
        raise ValueError(f"{param}: no 'species' line in the POD parameter file")
    return Potential(name or coefficients.stem, "pod", species, [param, coefficients], kind="pod",
                     coeff_args=[str(param), str(coefficients)])


def snap_potential(coefficients: str | os.PathLike, param: str | os.PathLike,
                   name: str | None = None) -> Potential:
    """A SNAP potential (``pair_style snap``): the ``.snapcoeff`` and ``.snapparam`` files."""
    coefficients, param = Path(coefficients).resolve(), Path(param).resolve()
    for f in (coefficients, param):
        if not f.is_file():
            raise FileNotFoundError(f"{f}: no such SNAP file")
    words = [ln.split() for ln in coefficients.read_text().splitlines()
             if ln.strip() and not ln.lstrip().startswith("#")]
    try:
        n_elements, n_coeff = int(words[0][0]), int(words[0][1])
        species = [words[1 + k * (1 + n_coeff)][0] for k in range(n_elements)]
    except (IndexError, ValueError):
        raise ValueError(f"{coefficients}: not a SNAP coefficient file (expected 'NELEM NCOEFF' "
                         "and, per element, a 'NAME RADIUS WEIGHT' line and NCOEFF numbers)") from None
    return Potential(name or coefficients.stem, "snap", species, [coefficients, param],
                     kind="snap", coeff_args=[str(coefficients), str(param)])


def bundled_potential(name: str | None = None, compressed: bool = False) -> Potential:
    """A potential that ships with ionscope, by name (see :mod:`ionscope.potential.bundled`);
    without a name, the default (the fast POD potential). ``compressed`` applies to DeePMD."""
    from ..potential.bundled import DEFAULT, MODELS, bundled_model, model_card

    name = name or DEFAULT
    card = model_card(name)
    if card.get("kind", "deepmd") == "pod":
        return pod_potential(MODELS / name / "param.pod", MODELS / name / "coefficients.pod", name=name)
    return deepmd_potential(bundled_model(name, compressed=compressed),
                            name=f"{name}{'-compressed' if compressed else ''}")


def resolve_potential(spec: str | os.PathLike | None = None, compressed: bool = False) -> Potential:
    """A potential from what a user writes: nothing (the bundled default), a bundled name
    (``pod-fast``, ``deepmd-paper``), a DeePMD ``.pth`` file, a directory holding a POD
    ``param.pod`` and ``coefficients.pod`` (what ``ionscope potential train --kind pod`` writes)
    or a SNAP ``model.snapparam`` and ``model.snapcoeff`` (:mod:`ionscope.potential.linear`)."""
    from ..potential.bundled import available_models

    if spec is None or str(spec) in available_models():
        return bundled_potential(None if spec is None else str(spec), compressed=compressed)
    path = Path(spec)
    if path.is_dir() and (path / "param.pod").exists():
        return pod_potential(path / "param.pod", path / "coefficients.pod", name=path.name)
    if path.is_dir() and (path / "model.snapparam").exists():
        return snap_potential(path / "model.snapcoeff", path / "model.snapparam", name=path.name)
    if path.is_file():
        return deepmd_potential(path)
    raise FileNotFoundError(f"{spec}: not a bundled potential ({', '.join(available_models())}), "
                            "a DeePMD model file, a POD or a SNAP directory")
