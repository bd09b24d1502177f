"""The study file: one TOML description of systems, potential, MD protocol, temperatures and
analyses, validated on load (pydantic) with errors that name the file, the key and the value.

    name = "my-study"
    seed = 1
    [potential]            # bundled name ("nnsnap", "pod-fast", "deepmd-paper") or a path
    name = "nnsnap"
    [[systems]]
    name = "beta"
    kind = "crystal"       # crystal | glass | glass-ceramic
    crystal = "beta-Li3PS4"
    atoms = 256
    [[systems]]
    name = "my-glass"
    kind = "glass"
    structure = "glass.extxyz"   # start from this cell as it is (no melt-quench)
    [md]
    temperatures = [600, 800, 1000]
    production_ps = 50

See ``ionscope/data/studies/*.toml`` for complete files (the demo and the paper-scale study).
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Literal

from ase.io import read as ase_read
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ..data import data_path
from ..md.stage import DEFAULT_TIMESTEP_FS
from ..potential.bundled import available_models
from ..structures import composition_ratios

T_MAX = 5000.0
"""Highest temperature (K) a study accepts: far above any melt of these materials."""
MIN_PRODUCTION_FRAMES = 25
"""Frames a production run must hold for D and its error (5 blocks of at least 5 frames)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PotentialSpec(_Strict):
    name: str | None = Field(None, description="bundled potential (nnsnap, pod-fast, deepmd-paper)")
    path: str | None = Field(None, description="DeePMD .pth file, or a POD, SNAP or NN-SNAP directory")
    compressed: bool = Field(True, description="DeePMD: use the compressed model")

    @model_validator(mode="after")
    def _one_of(self):
        if self.name and self.path:
            raise ValueError("give either potential.name or potential.path, not both")
        return self


class MeltQuench(_Strict):
    """Chen et al. (2025): 1500 K hold, cool at 2.5 K/ps to 300 K, relax; NPT."""

    T_high: float = Field(1500.0, gt=0, le=T_MAX)
    hold_ps: float = Field(100.0, ge=0)
    cool_rate: float = Field(2.5, gt=0, description="K/ps")
    T_low: float = Field(300.0, gt=0, le=T_MAX)
    relax_ps: float = Field(100.0, ge=0)
    ensemble: Literal["npt", "nvt"] = Field("npt", description="nvt keeps the starting density")


class DFTReference(_Strict):
    """DFT-labelled frames of the same material, against which the study's structure is set
    (``{system}/dft-reference``): what the potential's MD makes of the material beside what DFT
    was shown, e.g. the glass frames of the active learning the potential was trained on."""

    frames: list[str] = Field(min_length=1, description="DeePMD npy folders or ASE-readable files")
    label: str = Field(min_length=1, description="what the frames are, for the report")
    stride: int = Field(1, ge=1, description="every n-th frame")


class SystemSpec(_Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9_.+-]+$")
    kind: Literal["crystal", "glass", "glass-ceramic"]
    crystal: str | None = Field(None, description="bundled crystal name or CIF path")
    structure: str | None = Field(None, description="crystal or glass: a structure file that ASE "
                                  "reads (extxyz, CIF, POSCAR …) to start from as it is, without "
                                  "a melt-quench; 'repeat' makes a supercell of it")
    composition: str | None = Field(None, description='glass: "75Li2S-25P2S5" or a formula')
    atoms: int | None = Field(None, gt=0, description="target number of atoms (most cubic supercell)")
    repeat: tuple[int, int, int] | None = Field(None, description="explicit supercell of the crystal")
    density: float = Field(1.9, gt=0, description="g/cm3 of the random start of a glass")
    crystal_fraction: float = Field(0.5, gt=0, lt=1, description="glass-ceramic: frozen slab")
    axis: int = Field(2, ge=0, le=2, description="glass-ceramic: slab normal (crystal axis)")
    melt_quench: MeltQuench = MeltQuench()
    anneal_T: float | None = Field(None, gt=0, le=T_MAX, description="anneal after the quench (K)")
    anneal_ps: float = Field(0.0, ge=0)
    dft_reference: DFTReference | None = None

    @field_validator("composition")
    @classmethod
    def _composition(cls, v):
        if v is not None:
            composition_ratios(v)     # raises with the reason
        return v

    @model_validator(mode="after")
    def _inputs(self):
        if self.structure is not None:
            return self._given_structure()
        if self.kind in ("crystal", "glass-ceramic") and not self.crystal:
            raise ValueError(f"a {self.kind} system needs 'crystal' (bundled name or CIF path)")
        if self.kind == "glass" and not (self.composition or self.crystal):
            raise ValueError("a glass needs 'composition' (e.g. \"75Li2S-25P2S5\") or 'crystal' to melt")
        if self.repeat is not None:
            if self.atoms is not None or min(self.repeat) < 1:
                raise ValueError(f"give either 'atoms' or 'repeat' (three positive integers), got "
                                 f"atoms={self.atoms}, repeat={self.repeat}")
            if self.kind == "glass" and self.composition:
                raise ValueError("'repeat' is the supercell of a crystal; a glass from a "
                                 "composition takes 'atoms'")
        elif self.atoms is None:
            raise ValueError("give 'atoms' (target size) or, for a crystal, 'repeat'")
        return self

    def _given_structure(self):
        """A system that starts from a structure file: nothing is built or melted for it."""
        if self.kind == "glass-ceramic":
            raise ValueError("a glass-ceramic is built from 'crystal' (its frozen slab), not "
                             "from 'structure'")
        given = [k for k in ("crystal", "composition", "atoms") if getattr(self, k) is not None]
        if given:
            raise ValueError(f"'structure' is the starting cell as it is: drop {', '.join(given)} "
                             f"(a supercell of it is 'repeat')")
        if self.repeat is not None and min(self.repeat) < 1:
            raise ValueError(f"'repeat' takes three positive integers, got {self.repeat}")
        return self


class MDSpec(_Strict):
    temperatures: list[float] = Field(min_length=1)
    timestep_fs: float = Field(DEFAULT_TIMESTEP_FS, gt=0, le=4)
    equilibrate_ps: float = Field(10.0, ge=0, description="equilibration before production")
    equilibrate_ensemble: Literal["npt", "nvt"] = Field("npt", description="nvt: at the density "
                                                        "the system was built or quenched at")
    production_ps: float = Field(gt=0)
    production_ensemble: Literal["nvt", "npt"] = "nvt"
    dump_every_ps: float = Field(0.1, gt=0)
    restart_every_ps: float = Field(10.0, gt=0)
    vdos_ps: float = Field(2.0, ge=0, description="dense NVE segment for the VDOS (0: none)")
    mpi_ranks: int = Field(1, ge=1)
    pressure_bar: float = Field(1.0, description="target pressure of NPT segments (bar)")
    pressure_reference: Literal["dft", "experiment"] = Field(
        "dft", description="'dft': NPT at pressure_bar (the potential's own equation of state); "
        "'experiment': NPT at pressure_bar plus the potential's own pressure, per axis, of the "
        "system's starting structure at the experimental density at each temperature (Lee & "
        "Wan 2008), which keeps the experimental density and lattice")
    reference_ps: float = Field(5.0, gt=0, description="NVT run that measures that pressure")

    @field_validator("temperatures")
    @classmethod
    def _positive(cls, v):
        if any(not 0 < T <= T_MAX for T in v):
            raise ValueError(f"temperatures must be positive and at most {T_MAX:g} K, got {v}")
        if len(set(v)) != len(v):
            raise ValueError(f"temperatures must not repeat, got {v}")
        return sorted(v)


class AnalysisSpec(_Strict):
    structure: bool = True
    dynamics: bool = True
    softness: bool = True
    species: str = "Li"
    vanhove_lags_ps: list[float] = [0.5, 2.0, 10.0]
    softness_T: float | None = Field(None, description="temperature of the softness trajectory "
                                     "(default: the lowest)")
    softness_increment_ps: float = Field(1.0, gt=0)
    softness_reference: str = Field(
        "all", description="system(s) whose Li train the one softness hyperplane applied to every "
        "system: 'all' (default: every system pooled at softness_T, so the plane has seen ordered "
        "and disordered Li and both mobile and immobile ones, and 'soft' means the same in each; "
        "a crystal alone has few mobile Li) or one system's name (the papers' single reference)")
    sigma_T: float = Field(300.0, gt=0, description="σ is extrapolated to this temperature")


class DispatchSpec(_Strict):
    backend: Literal["local", "dask", "dpdispatcher"] = "local"
    workers: int = Field(1, ge=1, description="parallel MD stages (dask, dpdispatcher local)")
    scheduler: str | None = Field(None, description="dask: scheduler address (default: a local cluster)")
    machine: dict | None = Field(None, description="dpdispatcher Machine dict (default: local Shell)")
    resources: dict | None = Field(None, description="dpdispatcher Resources dict")


class Study(_Strict):
    name: str
    seed: int = 1
    notes: str = ""
    potential: PotentialSpec = PotentialSpec()
    systems: list[SystemSpec] = Field(min_length=1)
    md: MDSpec
    analysis: AnalysisSpec = AnalysisSpec()
    dispatch: DispatchSpec = DispatchSpec()

    @model_validator(mode="after")
    def _unique(self):
        names = [s.name for s in self.systems]
        if len(set(names)) != len(names):
            raise ValueError(f"system names must be unique, got {names}")
        if self.analysis.softness_T is not None and self.analysis.softness_T not in self.md.temperatures:
            raise ValueError(f"analysis.softness_T = {self.analysis.softness_T} is not one of "
                             f"md.temperatures {self.md.temperatures}")
        if self.analysis.softness_reference not in ["all", *names]:
            raise ValueError(f"analysis.softness_reference = {self.analysis.softness_reference!r} is "
                             f"neither 'all' nor a system name {names}")
        if self.md.pressure_reference == "experiment":
            npt_quench = [s.name for s in self.systems if s.kind != "crystal"
                          and s.melt_quench.ensemble == "npt"]
            if npt_quench:
                raise ValueError(f"md.pressure_reference = 'experiment' measures the pressure at "
                                 f"the experimental density: systems {npt_quench} are quenched in "
                                 "NPT; set melt_quench.ensemble = 'nvt' (at their density)")
        frames = self.md.production_ps / self.md.dump_every_ps
        if (self.analysis.dynamics or self.analysis.softness) and frames < MIN_PRODUCTION_FRAMES:
            raise ValueError(f"md.production_ps = {self.md.production_ps:g} with md.dump_every_ps = "
                             f"{self.md.dump_every_ps:g} stores {frames:g} frames; the transport "
                             f"analysis needs at least {MIN_PRODUCTION_FRAMES} (D and its error from "
                             "5 blocks): lengthen production_ps or lower dump_every_ps")
        return self


class StudyError(ValueError):
    """A study file that cannot be used; the message names the file, key and value."""


def load_study(path: str | Path) -> Study:
    """Read and validate a study file. Relative paths in it are relative to the file."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise StudyError(f"{path}: no such study file") from None
    except tomllib.TOMLDecodeError as exc:
        raise StudyError(f"{path}: not valid TOML: {exc}") from None
    try:
        study = Study.model_validate(data)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            key = ".".join(str(p) for p in err["loc"])
            value = err.get("input")
            shown = "" if isinstance(value, dict) else f" (got {value!r})"
            lines.append(f"  {key or '(top level)'}: {err['msg']}{shown}")
        raise StudyError(f"{path}: invalid study file\n" + "\n".join(lines)) from None
    try:
        return _resolve_paths(study, path.parent)
    except StudyError as exc:
        raise StudyError(f"{path}: {exc}") from None


def _structure_problems(path: Path, base: Path) -> list[str]:
    """Why ``path`` cannot start an MD run: missing, unreadable, or not a periodic cell."""
    if not path.is_file():
        return [f"no such file (looked in {base.resolve()})"]
    try:
        atoms = ase_read(path)
    except Exception as exc:   # ASE raises many kinds for a file it cannot parse
        return [f"ASE cannot read it ({type(exc).__name__}: {exc})"]
    if not (atoms.pbc.all() and atoms.cell.volume > 0):
        return ["not a periodic cell (MD needs a cell with three lattice vectors)"]
    return []


def _resolve_paths(study: Study, base: Path) -> Study:
    """Relative CIF, structure, potential and DFT-reference paths become absolute; a crystal or
    potential that is neither bundled nor an existing file, or a structure that cannot start MD,
    is refused here, not when the run reaches it (missing DFT-reference frames are refused when
    the study's tasks are built: :func:`dft_reference_files`)."""
    def fix(value: str | None) -> str | None:
        if value is None:
            return None
        p = Path(value)
        return str((base / p).resolve()) if not p.is_absolute() and (base / p).exists() else value

    crystals = sorted(p.stem for p in data_path("crystals").glob("*.cif"))
    problems = []
    for k, s in enumerate(study.systems):
        if s.crystal and s.crystal not in crystals and not Path(fix(s.crystal)).is_file():
            problems.append(f"  systems.{k}.crystal: {s.crystal!r} is neither a bundled crystal "
                            f"({', '.join(crystals)}) nor a file (looked in {base.resolve()})")
        if s.structure:
            problems += [f"  systems.{k}.structure: {s.structure!r}: {p}"
                         for p in _structure_problems(Path(fix(s.structure)), base)]
    spec = study.potential
    if spec.name and spec.name not in available_models():
        problems.append(f"  potential.name: {spec.name!r} is not a bundled potential "
                        f"({', '.join(available_models())}); use potential.path for your own")
    if spec.path and not Path(fix(spec.path)).exists():
        problems.append(f"  potential.path: {spec.path!r}: no such file or directory "
                        f"(looked in {base.resolve()})")
    if problems:
        raise StudyError("invalid study file\n" + "\n".join(problems))
    systems = [s.model_copy(update={"crystal": fix(s.crystal) if s.crystal not in crystals
                                    else s.crystal, "structure": fix(s.structure),
                                    "dft_reference": s.dft_reference and s.dft_reference.model_copy(
                                        update={"frames": [fix(f) for f in s.dft_reference.frames]})})
               for s in study.systems]
    potential = spec.model_copy(update={"path": fix(spec.path)})
    return study.model_copy(update={"systems": systems, "potential": potential})


def dft_reference_files(system: SystemSpec) -> dict[str, Path]:
    """A system's DFT-reference frames (files or folders, whose content the task hashes) by
    name; a missing entry is a :class:`StudyError`."""
    files = {}
    for k, entry in enumerate(system.dft_reference.frames):
        if not Path(entry).exists():
            raise StudyError(f"systems.{system.name}.dft_reference.frames: {entry!r}: no such file "
                             "or directory")
        files[f"frames-{k}"] = Path(entry)
    return files
