"""Potentials that ship with ionscope (``ionscope/potential/models/NAME``): each folder holds
the model files, its validation table, parity plot, physical checks and ``model.json`` (kind,
type map, errors, the command that trained it).

- ``nnsnap`` (the default): a neural network on the multi-element SNAP bispectrum, run by
  LAMMPS ML-IAP, fitted to PBE-D3 energies, forces and virials, with a 4-member committee. It
  is the most accurate measured model at ≥ 5 ns/day for 768 atoms on 2 cores, and it keeps
  PBE-D3's equation of state (``models/nnsnap/README.md``,
  ``benchmarks/neural_potentials_results.md``).
- ``pod-fast``: linear POD (``pair_style pod``), 3.5× faster than ``nnsnap`` and less
  accurate; under NPT at 1 bar it expands β-Li3PS4's c axis, so use it with
  ``pressure_reference = "experiment"``.
- ``deepmd-paper``: the DeePMD-kit reference (Chen et al. 2025 architecture, trained on the
  curated PBE-D3 data); it keeps PBE-D3's volume but shears β-Li3PS4. Its compressed
  variant is made on first use and cached, because the tabulated embedding nets of a paper-size
  model are far larger than the model itself.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np

from ..provenance import sha256_file
from .deepmd import compress
from .linear import LinearModel
from .model import Potential, deepmd_potential, mliap_potential, pod_potential, snap_potential
from .neural import NeuralModel, NeuralSnap

MODELS = Path(__file__).resolve().parent / "models"
DEFAULT = "nnsnap"
DEEPMD_DEFAULT = "deepmd-paper"


def available_models() -> list[str]:
    return sorted(p.name for p in MODELS.iterdir() if (p / "model.json").exists()) \
        if MODELS.exists() else []


def model_card(name: str = DEFAULT) -> dict:
    path = MODELS / name / "model.json"
    if not path.exists():
        raise FileNotFoundError(f"no bundled model {name!r}; available: {available_models()}")
    return json.loads(path.read_text())


def cache_dir() -> Path:
    root = Path(os.environ.get("IONSCOPE_CACHE", Path.home() / ".cache" / "ionscope"))
    root.mkdir(parents=True, exist_ok=True)
    return root


def bundled_model(name: str = DEEPMD_DEFAULT, compressed: bool = False) -> Path:
    """Path of a bundled DeePMD model (frozen, or compressed into the cache on first use).
    ``IONSCOPE_DEEPMD_MODEL`` overrides the default DeePMD model with a file of the user's."""
    override = os.environ.get("IONSCOPE_DEEPMD_MODEL")
    if override and name == DEEPMD_DEFAULT:
        frozen = Path(override)
    else:
        model_card(name)
        frozen = MODELS / name / "frozen.pth"
    if not frozen.exists():
        raise FileNotFoundError(f"{frozen}: model file missing")
    if not compressed:
        return frozen
    target = cache_dir() / f"{sha256_file(frozen)[:16]}-compressed.pth"
    if not target.exists():
        compress(frozen, target)
    return target


def bundled_potential(name: str | None = None, compressed: bool = False) -> Potential:
    """A potential that ships with ionscope, by name; without a name, the default (:data:`DEFAULT`).
    ``compressed`` applies to DeePMD models."""
    name = name or DEFAULT
    card = model_card(name)
    if card.get("kind", "deepmd") == "pod":
        return pod_potential(MODELS / name / "param.pod", MODELS / name / "coefficients.pod", name=name)
    if card["kind"] == "nnsnap":
        return _mliap_directory(MODELS / name, name)
    return deepmd_potential(bundled_model(name, compressed=compressed),
                            name=f"{name}{'-compressed' if compressed else ''}")


def resolve_potential(spec: str | os.PathLike | None = None, compressed: bool = False) -> Potential:
    """A potential from what a user writes: nothing (the bundled default), a bundled name
    (``nnsnap``, ``pod-fast``, ``deepmd-paper``), a DeePMD ``.pth`` file, a directory holding a POD
    ``param.pod`` and ``coefficients.pod`` (what ``ionscope potential train --kind pod`` writes)
    or a SNAP ``model.snapparam`` and ``model.snapcoeff`` (:mod:`ionscope.potential.linear`), or
    an NN-SNAP ``model.mliap.model`` and ``model.mliap.descriptor``
    (:mod:`ionscope.potential.neural`)."""
    if spec is None or str(spec) in available_models():
        return bundled_potential(None if spec is None else str(spec), compressed=compressed)
    path = Path(spec)
    if path.is_dir() and (path / "param.pod").exists():
        return pod_potential(path / "param.pod", path / "coefficients.pod", name=path.name)
    if path.is_dir() and (path / "model.snapparam").exists():
        return snap_potential(path / "model.snapcoeff", path / "model.snapparam", name=path.name)
    if path.is_dir() and (path / "model.mliap.model").exists():
        return _mliap_directory(path, path.name)
    if path.is_file():
        return deepmd_potential(path)
    raise FileNotFoundError(f"{spec}: not a bundled potential ({', '.join(available_models())}), "
                            "a DeePMD model file, a POD, SNAP or NN-SNAP directory")


def _mliap_directory(path: Path, name: str) -> Potential:
    """The ML-IAP model in ``path``, with the D3 term its fit (``neural.json``) ran beside."""
    if (path / "neural.json").exists():
        return NeuralSnap.load(path).potential(path, name=name)
    return mliap_potential(path / "model.mliap.model", path / "model.mliap.descriptor", name=name)


#: per kind of fitted model: its files, the record of the fit, the pair style
FITTED_FILES = {"pod": (("param.pod", "coefficients.pod"), "linear.json", "pod"),
                "nnsnap": (("model.mliap.model", "model.mliap.descriptor"), "neural.json", "mliap")}


def package_fitted_model(workdir: str | Path, name: str, commands: list[str], kind: str = "pod",
                         destination: Path = MODELS) -> Path:
    """Copy a fitted POD or NN-SNAP potential (an ``ionscope potential train --kind pod|nnsnap``
    work directory) into the bundled models with its committee, fit record, validation, parity
    plot, physical checks and ``model.json``."""
    files, fit_record, pair_style = FITTED_FILES[kind]
    workdir = Path(workdir)
    target = destination / name
    target.mkdir(parents=True, exist_ok=True)
    for f in files:
        shutil.copyfile(workdir / f, target / f)
    if (workdir / "committee").is_dir():
        shutil.rmtree(target / "committee", ignore_errors=True)
        shutil.copytree(workdir / "committee", target / "committee")
        shutil.copyfile(workdir / fit_record, target / fit_record)
    shutil.copyfile(workdir / "validation" / "table.md", target / "validation.md")
    shutil.copyfile(workdir / "validation" / "parity.png", target / "parity.png")
    if (workdir / "physics" / "physics.json").exists():
        shutil.copyfile(workdir / "physics" / "physics.json", target / "physics.json")
    record = json.loads((workdir / "provenance.json").read_text())
    validation = json.loads((workdir / "validation" / "validation.json").read_text())
    species = resolve_potential(target).species
    card = {"name": name, "kind": kind, "type_map": species,
            "pair_style": pair_style, "fit": record["fit"], "parameters": record["parameters"],
            "command": " && ".join(commands), "data": record["inputs"], "split": record["split"],
            "validation": validation, "software": record["software"],
            "sha256": {f: sha256_file(target / f) for f in files}}
    (target / "model.json").write_text(json.dumps(card, indent=1) + "\n")
    return target


def package_model(workdir: str | Path, name: str, commands: list[str], destination: Path = MODELS) -> Path:
    """Copy a trained model (``ionscope potential train`` work directory) into the bundled
    models with its validation table, parity plot and ``model.json`` (the model card)."""
    workdir = Path(workdir)
    target = destination / name
    target.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(workdir / "frozen.pth", target / "frozen.pth")
    shutil.copyfile(workdir / "validation" / "table.md", target / "validation.md")
    shutil.copyfile(workdir / "validation" / "parity.png", target / "parity.png")
    record = json.loads((workdir / "provenance.json").read_text())
    validation = json.loads((workdir / "validation" / "validation.json").read_text())
    config = json.loads((workdir / "train" / "input.json").read_text())
    curve = np.loadtxt(workdir / "train" / "lcurve.out")
    card = {"name": name, "kind": "deepmd", "type_map": config["model"]["type_map"],
            "descriptor": config["model"]["descriptor"], "fitting_net": config["model"]["fitting_net"],
            "loss": config["loss"], "learning_rate": config["learning_rate"],
            "steps": int(curve[-1, 0]), "command": " && ".join(commands),
            "data": record["inputs"], "split": record.get("split"), "validation": validation,
            "software": record["software"], "frozen_sha256": sha256_file(target / "frozen.pth"),
            "compressed": "made on first use (ionscope.potential.bundled.bundled_model(..., compressed=True))"}
    (target / "model.json").write_text(json.dumps(card, indent=1) + "\n")
    return target


def committee_members(potential: Potential) -> list[Potential]:
    """The committee that ships beside a fitted potential (``committee/`` of a ridge POD or SNAP
    fit, ``linear.json``; or of an NN-SNAP fit, ``neural.json``), as potentials; empty when
    there is none or it has fewer than two members."""
    if not potential.files:
        return []
    folder = potential.files[0].parent
    for record, kind in (("neural.json", NeuralModel), ("linear.json", LinearModel)):
        if (folder / record).exists():
            model = kind.load(folder)
            n = len(model.committee)
            return [model.potential(folder, member=k) for k in range(n)] if n >= 2 else []
    return []
