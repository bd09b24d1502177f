"""The summaries study steps write and the report reads: one pydantic model per step, with
machine keys and units in the key (``p_s_bond_length_A``, ``D_cm2_s``).

This is the contract between the two layers. ``ionscope.workflow`` (above) imports these models
to write ``summary.json`` of each task folder; ``ionscope.report`` (here) reads them back, and
only here do quantities get their display labels (the ``title`` of a field, :func:`label`). The
workflow resolves which folder plays which role (:mod:`ionscope.workflow.layout`) and hands the
report a :class:`StudyResults`, so the report never rebuilds a folder layout nor imports upward.

``summary.json`` of a task folder is ``{"summary": <model>, "provenance": {...}}``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..provenance import write_json

SUMMARY_FILE = "summary.json"
SUMMARY_SCHEMA = 4   # in the hash of the tasks writing these models: a new schema reruns them


class Summary(BaseModel):
    """A task's summary: written with its provenance, read back validated."""

    model_config = ConfigDict(extra="forbid")

    @classmethod
    def read(cls, folder: str | Path):
        """The summary in ``folder/summary.json``; a missing or malformed file names itself."""
        path = Path(folder) / SUMMARY_FILE
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no {cls.__name__} (the task has not finished)")
        try:
            return cls.model_validate(json.loads(path.read_text())["summary"])
        except (ValidationError, ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{path}: not a valid {cls.__name__}: {exc}") from None

    def write(self, folder: str | Path, provenance: dict) -> dict:
        """Write ``folder/summary.json`` atomically (the fields that were set); returns it as a
        plain dict."""
        summary = self.model_dump(exclude_unset=True)
        write_json(Path(folder) / SUMMARY_FILE, {"summary": summary, "provenance": provenance})
        return summary


class BuildSummary(Summary):
    """The starting cell of a system (``{system}/build``)."""

    system: str
    atoms: int
    formula: str
    cell: list[list[float]] = Field(title="cell (Å)")


class StructureSummary(Summary):
    """The standard structure analysis of one structure or trajectory
    (:func:`ionscope.workflow.structure.analyse_structure`)."""

    system: str
    atoms: int
    frames: int
    density_g_cm3: float = Field(title="density (g/cm3)")
    p_s_bond_length_A: float = Field(title="P-S bond length (A)")
    li_s_coordination: float = Field(title="Li-S coordination")
    li_s_cutoff_A: float = Field(title="Li-S cutoff (A)")
    sps_angle_peak_deg: float = Field(title="S-P-S angle peak (deg)")
    sps_angle_mean_deg: float = Field(title="S-P-S angle mean (deg)")
    anion_p_fractions: dict[str, float] = Field(title="anion P fractions")
    other_units: dict[str, int] = Field(title="other units")
    voronoi_volume_A3: dict[str, float] = Field(title="Voronoi volume (A3)")
    q6_species: str = Field(title="q6 species")
    q6: float = Field(title="q6")
    q6bar: float = Field(title="q6bar")
    xrd_crystallinity: float = Field(title="XRD crystallinity")
    sq_method: str = Field(title="S(Q) method")


class RegionSummary(BaseModel):
    """One slab region of a glass-ceramic (glass, interface, crystal)."""

    model_config = ConfigDict(extra="forbid")
    mean_fraction: float
    tau_ngp_ps: float


class AnalysisSummary(Summary):
    """Structure and Li dynamics of one system at one temperature (``{system}/analysis-{T}K``)."""

    system: str
    T: float
    frames: int
    kind: str
    structure: StructureSummary | None = None
    D_cm2_s: float | None = None
    D_err_cm2_s: float | None = None
    D_sigma_cm2_s: float | None = None
    D_sigma_err_cm2_s: float | None = None
    haven_ratio: float | None = None
    haven_ratio_err: float | None = None
    diffusive: bool | None = None
    D_warning: str | None = None
    msd_exponent: float | None = None
    fit_window_ps: list[float] | None = None
    tau_ngp_ps: float | None = None
    alpha2_max: float | None = None
    n_carriers: int | None = None
    volume_A3: float | None = None
    vdos_band_centre_THz: float | None = None
    ps4_flips_per_unit_per_ns: float | None = None
    ps4_flipped_fraction: float | None = None
    ps4_C1: float | None = None
    ps4_C1_lag_ps: float | None = None
    regions: dict[str, RegionSummary] | None = None
    committee_max_devi_f_eV_A: float | None = None
    committee_max_devi_f_max_eV_A: float | None = None
    committee_avg_devi_f_eV_A: float | None = None
    committee_untrusted_fraction: dict[str, float] | None = None
    committee_untrusted_above_eV_A: float | None = None
    committee_frames: int | None = None


class TransportSummary(Summary):
    """Arrhenius fit and conductivities of one system over its temperatures
    (``{system}/transport``); the fit uses the diffusive temperatures (``fit_T_K``), or, with
    fewer than two, every temperature with ``fit_warning`` saying so; its fields are set only
    when it has two or more temperatures."""

    system: str
    T_K: list[float]
    D_cm2_s: list[float]
    D_err_cm2_s: list[float]
    sigma_S_cm: list[float]
    sigma_err_S_cm: list[float]
    sigma_collective_S_cm: list[float]
    sigma_collective_err_S_cm: list[float]
    haven_ratio: list[float]
    haven_ratio_err: list[float]
    diffusive: list[bool]
    fit_T_K: list[float] | None = None
    fit_warning: str | None = None
    Ea_eV: float | None = None
    Ea_err_eV: float | None = None
    D0_cm2_s: float | None = None
    D_extrapolated_cm2_s: float | None = None
    sigma_T_K: float | None = None
    sigma_extrapolated_S_cm: float | None = None
    sigma_extrapolated_err_S_cm: float | None = None
    arrhenius_covariance: list[list[float]] | None = None

    def fitted(self) -> dict:
        """The summary without the unset fit fields (what the figures read)."""
        return self.model_dump(exclude_none=True)


class SoftnessModelSummary(Summary):
    """The study's one softness hyperplane (``softness-model``,
    :func:`ionscope.workflow.softness.train_reference`)."""

    reference: str
    systems: list[str]
    window_ps: float
    windows: dict[str, int]
    n_li_samples: int
    thresholds: dict[str, float]
    C: float
    cv_balanced_accuracy: float
    train_accuracy: float
    test_accuracy: float
    test_balanced_accuracy: float | None
    chance: float
    n_train: int
    n_test: int
    n_li_train: int
    n_li_test: int
    test_by_system: dict[str, dict[str, Any]]


class SoftnessSummary(Summary):
    """Softness of every Li of one trajectory (:func:`ionscope.workflow.softness.softness_study`);
    in a study (``{system}/softness``) also the reference model and its held-out accuracy."""

    n_li: int
    thresholds: dict[str, float]
    n_mobile: int
    n_immobile: int
    train_accuracy: float | None = None
    test_accuracy: float | None = None
    C: float | None = None
    n_train: int | None = None
    n_test: int | None = None
    chance: float | None = None
    mean_softness: float
    fraction_soft: float
    correlations: dict[str, dict[str, Any]]
    along_axis: dict[str, Any] | None = None
    system: str | None = None
    reference: str | None = None
    held_out: dict[str, Any] | None = None


class EnvironmentStats(BaseModel):
    """One quantity of :class:`~ionscope.analysis.structure.BondEnvironments` in the study's MD
    (mean and its block standard error) and over the DFT frames (mean, spread, range)."""

    model_config = ConfigDict(extra="forbid")
    study: float
    study_err: float
    dft_mean: float
    dft_std: float
    dft_min: float
    dft_max: float


class DFTReferenceSummary(Summary):
    """The structure of a system's MD at its lowest temperature beside DFT-labelled frames of the
    same material (``{system}/dft-reference``): density, unit fractions of P and bond counts per
    P, keyed as :data:`~ionscope.analysis.structure.ENVIRONMENT_KEYS`, with the compositions
(a reference off the study's composition shifts the unit fractions by itself)."""

    system: str
    T: float
    label: str
    study_formula: str
    dft_formulas: list[str]
    study_frames: int
    dft_frames: int
    quantities: dict[str, EnvironmentStats]


class PressureRecord(BaseModel):
    """The NPT target of a production run (``{system}/md-{T}K/pressure.json``)."""

    model_config = ConfigDict(extra="forbid")
    pressure_reference: str
    target_bar: float
    correction_bar: list[float] | None = None
    correction_GPa: list[float] | None = None
    npt_target_bar: list[float] | None = None

    @classmethod
    def read(cls, path: str | Path) -> "PressureRecord":
        path = Path(path)
        try:
            return cls.model_validate_json(path.read_text())
        except (ValidationError, OSError) as exc:
            raise ValueError(f"{path}: not a valid pressure record: {exc}") from None


class SystemResults(BaseModel):
    """What the report reads of one system: summaries by temperature and the folders holding
    each figure's data."""

    name: str
    kind: str
    analyses: dict[float, AnalysisSummary] = {}
    analysis_dirs: dict[float, Path] = {}
    pressure: dict[float, PressureRecord] = {}
    transport: TransportSummary | None = None
    softness: SoftnessSummary | None = None
    softness_dir: Path | None = None
    dft_reference: DFTReferenceSummary | None = None


class StudyResults(BaseModel):
    """Every finished result of a study run, handed to :func:`ionscope.report.study.build_study_report`."""

    systems: dict[str, SystemResults]
    sources: dict[str, Path] = {}        # the summary files read, for the report's provenance
    softness_model: SoftnessModelSummary | None = None
    softness_model_dir: Path | None = None


def label(model: type[BaseModel], field: str) -> str:
    """The display label of a summary field (its ``title``, else the key)."""
    return model.model_fields[field].title or field


class Tables:
    """Names of the CSV tables the workflow writes and the report overlays across systems: the
    structure analysis (in ``structure/`` of an analysis folder), the PS4 reorientation of an
    analysis and the softness of a system."""

    STRUCTURE = "structure"
    RDF, SQ, ANGLES, XRD = "rdf.csv", "sq.csv", "angles.csv", "xrd.csv"
    SOFTNESS, PROFILES, SCAN = "softness.csv", "profiles.csv", "scan.csv"
    REORIENTATION = "reorientation.csv"

    @staticmethod
    def pair(quantity: str, a: str, b: str) -> str:
        """The column of a pair quantity in ``rdf.csv``: ``g_PS``, ``n_LiS``."""
        return f"{quantity}_{a}{b}"

    @staticmethod
    def angle(triple) -> str:
        """The column of a bond angle in ``angles.csv``: ``S-P-S``."""
        return "-".join(triple)
