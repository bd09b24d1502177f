"""A study as a task graph (see :mod:`ionscope.workflow.pipeline`) and its execution.

Per system: ``build`` (the starting cell) → ``prepare`` (melt-quench / glass-ceramic / anneal
MD; crystals start as built) → for every temperature ``md-{T}K`` (NPT equilibration + production)
and ``vdos-{T}K`` (dense NVE) → ``analysis-{T}K`` (structure and dynamics) → ``transport``
(Arrhenius, σ); with ``dft_reference``, ``dft-reference`` (the structure of the lowest
temperature's MD beside DFT-labelled frames); ``softness-model`` (one hyperplane from the
reference systems' MD at softness_T) → per system ``softness`` (that hyperplane applied); finally ``report``
(cross-system figures, summary.json, index.html). Keys and roles: :mod:`.layout`.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..data import data_path
from ..potential import resolve_potential
from ..potential.bundled import committee_members
from ..provenance import provenance, task_seed, write_json
from ..report.study import build_study_report
from ..report.summaries import SUMMARY_SCHEMA
from . import study_steps as steps
from .layout import StudyLayout
from .pipeline import Pipeline, Task, make_executor
from .study import Study, dft_reference_files, load_study


def _potential(study: Study):
    spec = study.potential
    return resolve_potential(spec.path or spec.name, compressed=spec.compressed)


def _crystal_file(name: str) -> Path:
    """The CIF a crystal name stands for (a bundled one, or the user's file)."""
    return Path(name) if Path(name).is_file() else data_path(f"crystals/{name}.cif")


def build_tasks(study: Study) -> list[Task]:
    keys = StudyLayout(study)
    potential = _potential(study)
    pot_id = {"name": potential.name, "sha256": potential.sha256}
    committee = committee_members(potential)
    md = study.md
    tasks: list[Task] = []
    for system in study.systems:
        s = system.name
        # dft_reference: only its own task reads it; structure: only where given (the hashes of
        # studies without it stay as they were)
        unread = {"dft_reference"} | ({"structure"} if system.structure is None else set())
        sys_params = system.model_dump(exclude=unread)
        inputs = {"crystal": _crystal_file(system.crystal)} if system.crystal else {}
        if system.structure:
            inputs["structure"] = Path(system.structure)
        seed = task_seed(study.seed, s, "build")
        tasks.append(Task(keys.build(s), "build", {"system": sys_params, "seed": seed},
                          run=steps.build_runner(system, seed), inputs=inputs))
        start = keys.start(system)
        if start == keys.prepare(s):
            seed = task_seed(study.seed, s, "prepare")
            tasks.append(Task(start, "md-prepare",
                              {"system": sys_params, "seed": seed, "potential": pot_id,
                               "timestep_fs": md.timestep_fs},
                              roles={"start": keys.build(s)},
                              prepare=steps.prepare_runner(system, md, potential, seed),
                              mpi_ranks=md.mpi_ranks))
        analyses = {}
        for T in md.temperatures:
            md_roles = {"start": start}
            if md.pressure_reference == "experiment":
                seed = task_seed(study.seed, s, "pressure", f"{T:g}")
                tasks.append(Task(keys.pressure(s, T), "md-pressure",
                                  {"T": T, "ps": md.reference_ps, "seed": seed, "potential": pot_id,
                                   "timestep_fs": md.timestep_fs}, roles={"start": start},
                                  prepare=steps.pressure_runner(T, md, potential, seed),
                                  mpi_ranks=md.mpi_ranks))
                md_roles["pressure"] = keys.pressure(s, T)
            seed = task_seed(study.seed, s, "md", f"{T:g}")
            md_params = {"T": T, "md": md.model_dump(exclude={"temperatures", "mpi_ranks"}),
                         "potential": pot_id, "seed": seed}
            tasks.append(Task(keys.md(s, T), "md-production", md_params, roles=md_roles,
                              prepare=steps.production_runner(T, md, potential, seed, system),
                              mpi_ranks=md.mpi_ranks))
            analysis_roles = {"md": keys.md(s, T)}
            if md.vdos_ps > 0:
                vdos_seed = task_seed(study.seed, s, "vdos", f"{T:g}")
                tasks.append(Task(keys.vdos(s, T), "md-vdos",
                                  dict(md_params, vdos_ps=md.vdos_ps, seed=vdos_seed),
                                  roles={"start": keys.md(s, T)},
                                  prepare=steps.vdos_runner(T, md, potential, vdos_seed),
                                  mpi_ranks=md.mpi_ranks))
                analysis_roles["vdos"] = keys.vdos(s, T)
            tasks.append(Task(keys.analysis(s, T), "analysis",
                              {"T": T, "analysis": study.analysis.model_dump(), "kind": system.kind,
                               "axis": system.axis, "summary_schema": SUMMARY_SCHEMA,
                               "committee": [m.sha256 for m in committee]},
                              roles=analysis_roles,
                              run=steps.analysis_runner(system, T, study.analysis, committee)))
            analyses[T] = keys.analysis(s, T)
        tasks.append(Task(keys.transport(s), "transport",
                          {"temperatures": md.temperatures, "sigma_T": study.analysis.sigma_T},
                          roles={"analysis": analyses}, run=steps.transport_runner(system, study.analysis)))
        if system.dft_reference is not None:
            T = min(md.temperatures)
            tasks.append(Task(keys.dft_reference(s), "dft-reference",
                              {"T": T, "reference": system.dft_reference.model_dump(exclude={"frames"}),
                               "summary_schema": SUMMARY_SCHEMA},
                              roles={"md": keys.md(s, T)}, inputs=dft_reference_files(system),
                              run=steps.dft_reference_runner(system, T)))
    if study.analysis.softness:
        tasks += _softness_tasks(study, keys)
    tasks.append(Task(keys.REPORT, "report", {"study": study.model_dump(exclude={"dispatch"})},
                      roles=keys.report_roles(), run=steps.report_runner(study)))
    return tasks


def _softness_tasks(study: Study, keys: StudyLayout) -> list[Task]:
    """``softness-model``: one hyperplane trained on the reference systems' MD at softness_T
    (all systems pooled, or one); ``{system}/softness``: that hyperplane applied to each system."""
    spec = study.analysis
    T = spec.softness_T or study.md.temperatures[0]
    names = [s.name for s in study.systems]
    references = names if spec.softness_reference == "all" else [spec.softness_reference]
    params = {"T": T, "increment_ps": spec.softness_increment_ps}
    seed = task_seed(study.seed, "softness-model")
    tasks = [Task(keys.SOFTNESS_MODEL, "softness-model",
                  dict(params, reference=spec.softness_reference, systems=references, seed=seed),
                  roles={"md": {s: keys.md(s, T) for s in references}},
                  run=steps.softness_model_runner(study, seed))]
    for system in study.systems:
        seed = task_seed(study.seed, system.name, "softness")
        tasks.append(Task(keys.softness(system.name), "softness",
                          dict(params, seed=seed,
                               axis=system.axis if system.kind == "glass-ceramic" else None),
                          roles={"md": keys.md(system.name, T), "model": keys.SOFTNESS_MODEL},
                          run=steps.softness_runner(system, study, seed)))
    return tasks


def write_study_report(run_dir: str | Path, study: Study, out_dir: str | Path) -> Path:
    """Rebuild the report of the study run in ``run_dir`` into ``out_dir`` from its finished
    tasks (``ionscope report RUN_DIR``); returns its ``index.html``."""
    layout = StudyLayout(study, run_dir)
    results = steps.study_results(study, layout.folders(layout.report_roles()))
    return build_study_report(results, study, out_dir)


def run_study(study: Study | str | Path, run_dir: str | Path, log=print) -> Path:
    """Execute ``study`` below ``run_dir`` (skipping what is up to date); returns the report."""
    source = None
    if not isinstance(study, Study):
        source = Path(study).resolve()
        study = load_study(study)
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    write_json(run_dir / "study.json", {"study": study.model_dump(), "source": source,
                                        "provenance": provenance(inputs={"study": source})})
    pipeline = Pipeline(run_dir, build_tasks(study), make_executor(study.dispatch, run_dir), log=log)
    status = pipeline.run()
    skipped = sum(v == "skipped" for v in status.values())
    log(f"{len(status)} tasks: {len(status) - skipped} ran, {skipped} up to date")
    (run_dir / "tasks.json").write_text(json.dumps(
        {k: {"status": v, "hash": pipeline.hashes[k]} for k, v in status.items()}, indent=1))
    return StudyLayout(study, run_dir).folder(StudyLayout.REPORT) / "index.html"
