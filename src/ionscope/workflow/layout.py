"""Task keys and folders of a study run: the one place that names them.

Every task is a folder below the run directory named by its key::

    {system}/build  {system}/prepare  {system}/pressure-{T}K  {system}/md-{T}K
    {system}/vdos-{T}K  {system}/analysis-{T}K  {system}/transport  {system}/softness
    {system}/dft-reference  softness-model  report

A task names its dependencies by *role* (:attr:`ionscope.workflow.pipeline.Task.roles`: role →
key, or role → {label: key}) and its runner receives the finished folders under the same roles,
so no step parses a key. The roles of the report are :meth:`StudyLayout.report_roles`;
:func:`ionscope.workflow.study_steps.study_results` turns its folders into the
:class:`~ionscope.report.summaries.StudyResults` the report reads.
"""

from __future__ import annotations

from pathlib import Path

from .pipeline import map_roles


def tag(T: float) -> str:
    """A temperature in a key: ``800K``, ``1012.5K``."""
    return f"{T:g}K"


class StudyLayout:
    """The task keys of a study (and, with ``run_dir``, their folders)."""

    SOFTNESS_MODEL = "softness-model"
    REPORT = "report"

    def __init__(self, study, run_dir: str | Path | None = None) -> None:
        self.study = study
        self.run_dir = Path(run_dir) if run_dir is not None else None

    @staticmethod
    def build(system: str) -> str:
        return f"{system}/build"

    @staticmethod
    def prepare(system: str) -> str:
        return f"{system}/prepare"

    @staticmethod
    def pressure(system: str, T: float) -> str:
        return f"{system}/pressure-{tag(T)}"

    @staticmethod
    def md(system: str, T: float) -> str:
        return f"{system}/md-{tag(T)}"

    @staticmethod
    def vdos(system: str, T: float) -> str:
        return f"{system}/vdos-{tag(T)}"

    @staticmethod
    def analysis(system: str, T: float) -> str:
        return f"{system}/analysis-{tag(T)}"

    @staticmethod
    def transport(system: str) -> str:
        return f"{system}/transport"

    @staticmethod
    def softness(system: str) -> str:
        return f"{system}/softness"

    @staticmethod
    def dft_reference(system: str) -> str:
        return f"{system}/dft-reference"

    def start(self, system) -> str:
        """The task whose final structure a system's MD starts from: the prepared (melt-quenched
        or annealed) cell, or the built one (a crystal, or a given structure, not annealed)."""
        prepared = (system.kind != "crystal" and not system.structure) or system.anneal_T
        return self.prepare(system.name) if prepared else self.build(system.name)

    def report_roles(self) -> dict[str, dict]:
        """The report's dependencies by role: analyses and MD (its pressure record) by
        (system, T), transport, softness and DFT reference by system, and the softness model."""
        study = self.study
        pairs = [(s.name, T) for s in study.systems for T in study.md.temperatures]
        roles = {"analysis": {p: self.analysis(*p) for p in pairs},
                 "md": {p: self.md(*p) for p in pairs},
                 "transport": {s.name: self.transport(s.name) for s in study.systems}}
        if study.analysis.softness:
            roles["softness"] = {s.name: self.softness(s.name) for s in study.systems}
            roles["softness-model"] = self.SOFTNESS_MODEL
        references = [s.name for s in study.systems if s.dft_reference is not None]
        if references:
            roles["dft-reference"] = {name: self.dft_reference(name) for name in references}
        return roles

    def folder(self, key: str) -> Path:
        """The finished folder of task ``key`` below ``run_dir``."""
        if self.run_dir is None:
            raise ValueError("a StudyLayout without a run directory has no folders")
        return self.run_dir / key

    def folders(self, roles: dict) -> dict:
        """``roles`` with every key replaced by its folder below ``run_dir``."""
        return map_roles(roles, self.folder)
