"""What each task of a study does (see :mod:`ionscope.workflow.run`). Every runner writes only
into its work folder; its inputs are the finished folders of its dependencies, by role
(:mod:`ionscope.workflow.layout`): ``start`` (the structure an MD stage starts from),
``pressure``, ``md``, ``vdos``, ``analysis`` ({T: folder}), ``model``. Summaries are written
through the models of :mod:`ionscope.report.summaries`."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
from ase.io import read, write

from ..analysis.dynamics import (
    MSD,
    AnionReorientation,
    NoUnitsError,
    NotDiffusiveWarning,
    SelfVanHove,
    SlabRegions,
    VibrationalDOS,
    arrhenius,
    diffusion_coefficient,
    nernst_einstein,
)
from ..analysis.dynamics._access import frame_cells, frame_times
from ..analysis.softness import RadialFeatures, SoftnessModel
from ..analysis.structure import BondEnvironments, composition_profile, order_profile
from ..io import open_trajectory
from ..io.tables import write_csv
from ..potential.ensemble import force_deviation
from ..potential.lammps_eval import committee_forces
from ..md import Stage, load_stage, prepare_stage, protocols, reference_pressure, repoint_potential
from ..md.pressure import BAR_PER_GPA
from ..provenance import provenance, write_json
from ..report import study_figures as figs
from ..report.study import build_study_report
from ..report.summaries import (
    SUMMARY_FILE,
    AnalysisSummary,
    BuildSummary,
    DFTReferenceSummary,
    PressureRecord,
    SoftnessModelSummary,
    SoftnessSummary,
    StudyResults,
    SystemResults,
    Tables,
    TransportSummary,
)
from ..structures import composition_counts, crystal_supercell, glass_ceramic_cell, random_packing
from .learn import LearnSettings
from .softness import held_out_accuracy, softness_study, train_reference, window_frames
from .structure import analyse_structure


def _start_atoms(folder: Path):
    """The structure a stage starts from: the final frame of an MD stage, or the built cell."""
    if (folder / "run.json").exists():
        return load_stage(folder).atoms
    if (folder / "start.extxyz").exists():
        return read(folder / "start.extxyz")
    raise FileNotFoundError(f"{folder}: no starting structure (neither run.json nor start.extxyz)")


def build_runner(system, seed: int):
    def run(work: Path, deps) -> None:
        size = {"target_atoms": system.atoms, "repeat": system.repeat}
        if system.structure:
            atoms = crystal_supercell(system.structure, repeat=system.repeat or (1, 1, 1))
        elif system.kind == "glass-ceramic":
            atoms = glass_ceramic_cell(system.crystal, system.crystal_fraction, axis=system.axis, **size)
        elif system.kind == "glass" and system.composition:
            atoms = random_packing(composition_counts(system.composition, system.atoms),
                                   system.density, seed=seed)
        else:    # a crystal, or the crystal a glass is melted from
            atoms = crystal_supercell(system.crystal, **size)
        write(work / "start.extxyz", atoms)
        BuildSummary(system=system.name, atoms=len(atoms), formula=atoms.get_chemical_formula(),
                     cell=atoms.cell.array.tolist()).write(work, provenance(
                         inputs={"structure": system.structure} if system.structure else None,
                         parameters={"system": system.model_dump(), "seed": seed}))
    return run


def md_runner(potential, make_stage):
    """An MD task: the :class:`~ionscope.md.Stage` that ``make_stage(work, deps)`` returns,
    prepared from the starting structure of the ``start`` dependency (run by the executor). A
    stage prepared before (being resumed, perhaps on another machine) is pointed at this
    potential's files."""
    def prepare(work: Path, deps) -> None:
        if (work / "stage.json").exists():
            repoint_potential(work, potential)
        else:
            prepare_stage(work, make_stage(work, deps), potential, _start_atoms(deps["start"]))
    return prepare


def prepare_runner(system, md, potential, seed: int):
    """Melt-quench (glass), quench with a frozen slab (glass-ceramic) and anneal, as asked; a
    system given as a structure file is only annealed."""
    def make_stage(work: Path, deps) -> Stage:
        mq = system.melt_quench
        segments = []
        if system.kind == "glass" and not system.structure:
            segments += protocols.melt_quench(mq.T_high, mq.hold_ps, mq.cool_rate, mq.T_low,
                                              mq.relax_ps, ensemble=mq.ensemble)
        elif system.kind == "glass-ceramic":
            segments += protocols.glass_ceramic(mq.T_high, mq.hold_ps, mq.cool_rate, mq.T_low,
                                                mq.relax_ps, relax_ensemble=mq.ensemble)
        if system.anneal_T and system.anneal_ps > 0:
            segments += (protocols.anneal(system.anneal_T, system.anneal_ps) if mq.ensemble == "npt"
                         else protocols.nvt(system.anneal_T, system.anneal_ps))
        total = sum(s["ps"] for s in segments)
        return Stage(segments, timestep_fs=md.timestep_fs, seed=seed,
                     dump_every_ps=max(total / 50, md.dump_every_ps),
                     thermo_every_ps=max(total / 500, 0.01), restart_every_ps=md.restart_every_ps)
    return md_runner(potential, make_stage)


def pressure_runner(T: float, md, potential, seed: int):
    """NVT of the starting structure (at its experimental density) at T: the potential's own
    pressure there, for ``pressure_reference = "experiment"``."""
    return md_runner(potential, lambda work, deps: Stage(
        protocols.nvt(T, md.reference_ps), timestep_fs=md.timestep_fs, seed=seed,
        dump_every_ps=md.reference_ps / 5, thermo_every_ps=md.reference_ps / 200,
        restart_every_ps=md.restart_every_ps))


def npt_pressure(md, system, deps: dict[str, Path]) -> tuple[float | tuple, PressureRecord]:
    """The NPT target of a production run and its record: ``pressure_bar``, plus with
    ``pressure_reference = "experiment"`` the potential's own pressure of the starting structure
    at T (per axis for crystals, its mean for glasses; Lee & Wan 2008)."""
    record = PressureRecord(pressure_reference=md.pressure_reference, target_bar=md.pressure_bar)
    if md.pressure_reference != "experiment":
        return md.pressure_bar, record
    correction = reference_pressure(load_stage(deps["pressure"]).thermo)
    if system.kind == "glass":
        correction = np.full(3, correction.mean())
    target = tuple(float(md.pressure_bar + c) for c in correction)
    record = record.model_copy(update=dict(
        correction_bar=correction.tolist(), correction_GPa=(correction / BAR_PER_GPA).tolist(),
        npt_target_bar=list(target)))
    return (target[0] if system.kind == "glass" else target), record


def production_runner(T: float, md, potential, seed: int, system):
    """Equilibration and production at T (NPT at the target of :func:`npt_pressure`)."""
    def make_stage(work: Path, deps) -> Stage:
        P, record = npt_pressure(md, system, deps)
        write_json(work / "pressure.json", record.model_dump(exclude_none=True))
        segments = protocols.diffusion_run(T, md.equilibrate_ps, md.production_ps, P=P,
                                           production_ensemble=md.production_ensemble,
                                           equilibrate_ensemble=md.equilibrate_ensemble)
        return Stage([s for s in segments if s["ps"] > 0], timestep_fs=md.timestep_fs, seed=seed,
                     dump_every_ps=md.dump_every_ps, thermo_every_ps=md.dump_every_ps,
                     restart_every_ps=md.restart_every_ps)
    return md_runner(potential, make_stage)


def vdos_runner(T: float, md, potential, seed: int):
    """A short NVT, then dense NVE frames for the velocity autocorrelation."""
    segments = [dict(protocols.nvt(T, 0.5)[0], dump=False), dict(protocols.nve(md.vdos_ps)[0], dump=True)]
    return md_runner(potential, lambda work, deps: Stage(
        segments, timestep_fs=min(md.timestep_fs, 1.0), seed=seed, dump_every_ps=0.005,
        thermo_every_ps=0.05, restart_every_ps=md.restart_every_ps))


UNTRUSTED_DEVI_F = LearnSettings.trust_hi
"""eV/Å: an atom whose committee force deviation exceeds the learning loop's upper trust level."""


def committee_deviation(traj, committee, frames: int = 20) -> dict:
    """The committee's force deviation on ``frames`` evenly spaced frames of a run: per frame the
    DP-GEN maximum over atoms of √⟨‖F_i − ⟨F_i⟩‖²⟩ (eV/Å, :func:`force_deviation`), then its
    mean and maximum over the frames: where the run left the data the committee learnt from.
    Also the mean per-atom deviation and the fraction of atoms (of each species) beyond
    :data:`UNTRUSTED_DEVI_F`: whether a large maximum is a few atoms or the whole cell."""
    picks = np.unique(np.linspace(0, len(traj) - 1, min(frames, len(traj))).round().astype(int))
    atoms = [traj.atoms(int(k)) for k in picks]
    deviation = force_deviation(committee_forces(committee, atoms))
    per_atom = deviation["per_atom_devi_f"]
    return {"committee_max_devi_f_eV_A": float(deviation["max_devi_f"].mean()),
            "committee_max_devi_f_max_eV_A": float(deviation["max_devi_f"].max()),
            "committee_avg_devi_f_eV_A": float(per_atom.mean()),
            "committee_untrusted_fraction": {
                s: float((per_atom[:, traj.indices(s)] > UNTRUSTED_DEVI_F).mean()) for s in traj.species},
            "committee_untrusted_above_eV_A": UNTRUSTED_DEVI_F,
            "committee_frames": int(len(picks))}


def analysis_runner(system, T: float, spec, committee=()):
    """Structure, dynamics and (with a ``committee`` of potentials) the committee's force
    deviation on the production run of ``system`` at ``T``."""
    def run(work: Path, deps) -> None:
        md_dir = deps["md"]
        traj = open_trajectory(md_dir / "trajectory.h5")
        species = spec.species
        summary: dict = {"system": system.name, "T": T, "frames": len(traj), "kind": system.kind}
        if len(committee) >= 2:
            summary.update(committee_deviation(traj, committee))
        if spec.structure:
            step = max(1, len(traj) // 50)
            summary["structure"] = analyse_structure(traj, Tables.STRUCTURE, work, step=step,
                                                     progress=True)
        if spec.dynamics:
            regions = None
            if system.kind == "glass-ceramic":
                regions = _regions(traj, system.axis, work)
            msd = MSD(species).run(traj, regions=regions, progress=True).results
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", NotDiffusiveWarning)
                D = diffusion_coefficient(traj, species)
            times, _ = frame_times(traj, 0, None, 1)
            span = float(times[-1] - times[0])
            lags = [t for t in spec.vanhove_lags_ps if t <= span / 3] or [span / 10]  # enough origins
            gs = SelfVanHove(species, lag_times=lags).run(traj).results
            volume = float(np.mean(np.abs(np.linalg.det(frame_cells(traj, 0, None, 1)))))
            summary.update(D_cm2_s=D.D, D_err_cm2_s=D.D_err, D_sigma_cm2_s=D.D_sigma,
                           D_sigma_err_cm2_s=D.D_sigma_err, haven_ratio=D.haven_ratio,
                           haven_ratio_err=D.haven_ratio_err, diffusive=bool(D.diffusive),
                           D_warning=str(caught[0].message) if caught else None,
                           msd_exponent=D.exponent, fit_window_ps=list(D.window),
                           tau_ngp_ps=msd.tau_ngp, alpha2_max=msd.alpha2_max,
                           n_carriers=int(len(traj.indices(species))), volume_A3=volume)
            write_csv(work / "msd.csv", ["time_ps", "msd_A2", "msd_x", "msd_y", "msd_z", "alpha2",
                                         "msd_collective_A2"],
                      [msd.time, msd.msd, *msd.msd_xyz.T, msd.alpha2, msd.msd_collective])
            write_csv(work / "van_hove_self.csv", ["r_A"] + [f"4pir2Gs_{t:g}ps" for t in gs.time],
                      [gs.r, *gs.r2Gs])
            vdos = None
            vdos_dir = deps.get("vdos")
            if vdos_dir is not None and (vdos_dir / "trajectory.h5").exists():
                vdos = VibrationalDOS(species).run(open_trajectory(vdos_dir / "trajectory.h5")).results
                write_csv(work / "vdos.csv", ["frequency_THz", "vdos"], [vdos.frequency_THz, vdos.vdos])
                summary["vdos_band_centre_THz"] = vdos.band_centre_THz
            if {"P", "S"} <= set(traj.species):
                summary.update(_ps4_reorientation(traj, work, span))
            figs.dynamics_figure(f"{system.name}, {T:g} K", msd, gs, vdos, work / "dynamics.png")
            if regions is not None:
                summary["regions"] = _region_outputs(msd, work, f"{system.name}, {T:g} K")
        AnalysisSummary(**summary).write(work, provenance(
            inputs={"trajectory": md_dir / "trajectory.h5"},
            parameters={"analysis": spec.model_dump(), "T": T}))
    return run


def _ps4_reorientation(traj, work: Path, span: float) -> dict:
    """PS4 rotational correlation and flips (:class:`AnionReorientation`): whether the
    framework turns while Li diffuses; C_1 is quoted at 100 ps (or half the run). Nothing for a
    system without PS4 units (e.g. Li4P2S6)."""
    try:
        rot = AnionReorientation("P", "S").run(traj).results
    except NoUnitsError:
        return {}
    write_csv(work / Tables.REORIENTATION, ["time_ps", "C1", "C2", "reoriented"],
              [rot.time, rot.C1, rot.C2, rot.reoriented])
    k = int(np.argmin(np.abs(rot.time - min(100.0, span / 2))))
    return {"ps4_flips_per_unit_per_ns": 1000 * rot.flips_per_unit_per_ps,
            "ps4_flipped_fraction": rot.flipped_units, "ps4_C1": float(rot.C1[k]),
            "ps4_C1_lag_ps": float(rot.time[k])}


def _regions(traj, axis: int, work: Path):
    """Glass / interface / crystal slabs from F(Z) of the first production frame."""
    first = traj.atoms(0)
    profile = order_profile(first, axis=axis)
    comp = composition_profile(first, axis=axis)
    write_csv(work / "order_profile.csv", ["z_A", "F", "amorphization"],
              [profile.z, profile.F, profile.amorphization])
    write_csv(work / "composition_profile.csv", ["z_A"] + [f"n_{s}" for s in comp.number_density],
              [comp.z, *comp.number_density.values()])
    return SlabRegions.from_profile(profile, axis=axis)


def _region_outputs(msd, work: Path, title: str) -> dict:
    names = list(msd.regions)
    write_csv(work / "msd_regions.csv", ["time_ps"] + [f"msd_{n}" for n in names] + [f"alpha2_{n}" for n in names],
              [msd.time] + [msd.regions[n].msd for n in names] + [msd.regions[n].alpha2 for n in names])
    fractions = msd.region_fractions
    write_csv(work / "li_fractions.csv", ["time_ps"] + [f"fraction_{n}" for n in fractions],
              [msd.frame_times - msd.frame_times[0]] + list(fractions.values()))
    figs.regions_figure(title, work, work / "regions.png")
    return {n: {"mean_fraction": float(np.mean(fractions[n])), "tau_ngp_ps": msd.regions[n].tau_ngp}
            for n in names}


def transport_runner(system, spec):
    def run(work: Path, deps) -> None:
        rows = [AnalysisSummary.read(d).model_dump() for d in deps["analysis"].values()]
        rows = sorted((r for r in rows if r["D_cm2_s"] is not None), key=lambda r: r["T"])
        T = np.array([r["T"] for r in rows])
        D = np.array([r["D_cm2_s"] for r in rows])
        D_err = np.array([r["D_err_cm2_s"] for r in rows])
        sigma = np.array([nernst_einstein(r["D_cm2_s"], r["n_carriers"], r["volume_A3"], r["T"])
                          for r in rows])
        # collective (charge) MSD: σ without assuming uncorrelated ions, and the Haven ratio
        D_sig, D_sig_err, haven, haven_err = (
            np.array([np.nan if r[k] is None else r[k] for r in rows], float)
            for k in ("D_sigma_cm2_s", "D_sigma_err_cm2_s", "haven_ratio", "haven_ratio_err"))
        to_sigma = np.array([nernst_einstein(1.0, r["n_carriers"], r["volume_A3"], r["T"]) for r in rows])
        out = {"system": system.name, "T_K": T, "D_cm2_s": D, "D_err_cm2_s": D_err,
               "sigma_S_cm": sigma, "sigma_err_S_cm": to_sigma * D_err,
               "sigma_collective_S_cm": to_sigma * D_sig, "sigma_collective_err_S_cm": to_sigma * D_sig_err,
               "haven_ratio": haven, "haven_ratio_err": haven_err,
               "diffusive": [r["diffusive"] for r in rows]}
        # a D from a sub-diffusive MSD is no diffusion coefficient: not fitted (open symbols);
        # with fewer than two diffusive temperatures (short demo runs) all are fitted, and said so
        usable = (D > 0) & np.array(out["diffusive"], bool)
        if usable.sum() < 2 and (D > 0).sum() >= 2:
            usable = D > 0
            out["fit_warning"] = (f"fewer than two temperatures have a diffusive MSD: the fit uses "
                                  f"sub-diffusive D at {', '.join(f'{t:g}' for t in T[usable])} K; "
                                  "E_a and the extrapolated σ are not reliable")
        out["fit_T_K"] = T[usable]
        if usable.sum() >= 2:
            fit = arrhenius(T[usable], D[usable], np.where(D_err[usable] > 0, D_err[usable], D[usable] * 0.1),
                            extrapolate_to=spec.sigma_T)
            volume = rows[0]["volume_A3"]
            s_T = nernst_einstein(fit.D_extrapolated, rows[0]["n_carriers"], volume, spec.sigma_T)
            s_err = s_T * fit.D_extrapolated_err / fit.D_extrapolated
            out.update(Ea_eV=fit.Ea, Ea_err_eV=fit.Ea_err, D0_cm2_s=fit.D0,
                       D_extrapolated_cm2_s=fit.D_extrapolated, sigma_T_K=spec.sigma_T,
                       sigma_extrapolated_S_cm=float(s_T), sigma_extrapolated_err_S_cm=float(s_err),
                       arrhenius_covariance=fit.covariance)
            band = figs.arrhenius_band(out)
            write_csv(work / "arrhenius_fit.csv",
                      ["inv_T_1000_per_K", "D_fit_cm2_s", "D_low_cm2_s", "D_high_cm2_s"], list(band))
        write_csv(work / "arrhenius.csv", ["T_K", "inv_T_1000_per_K", "D_cm2_s", "D_err_cm2_s", "sigma_S_cm",
                                           "sigma_err_S_cm", "sigma_collective_S_cm",
                                           "sigma_collective_err_S_cm", "haven_ratio", "haven_ratio_err"],
                  [T, 1000 / T, D, D_err, sigma, out["sigma_err_S_cm"], out["sigma_collective_S_cm"],
                   out["sigma_collective_err_S_cm"], haven, haven_err])
        summary = TransportSummary(**out)
        summary.write(work, provenance(
            inputs={f"analysis {T:g} K": d / "summary.json" for T, d in deps["analysis"].items()},
            parameters={"sigma_T": spec.sigma_T, "method": "weighted ln D vs 1/T over the diffusive "
                        "temperatures; Nernst-Einstein; "
                        "collective (charge) MSD for sigma and the Haven ratio"}))
        figs.arrhenius_figure({system.name: summary.fitted()}, work / "arrhenius.png")
    return run


DFT_REFERENCE_MD_FRAMES = 50
"""Frames of the production run set beside the DFT frames (evenly spaced)."""


def dft_reference_runner(system, T: float):
    """:class:`BondEnvironments` of the production run at ``T`` (role ``md``) and of the
    system's DFT-reference frames, per frame (``bond_environments_md.csv``,
    ``bond_environments_dft.csv``) and summarised."""
    def run(work: Path, deps) -> None:
        ref = system.dft_reference
        md_path = deps["md"] / "trajectory.h5"
        traj = open_trajectory(md_path)
        study = BondEnvironments().run(traj, step=max(1, len(traj) // DFT_REFERENCE_MD_FRAMES)).results
        references = [open_trajectory(f) for f in ref.frames]
        dft = np.vstack([BondEnvironments().run(r, step=ref.stride).results.per_frame for r in references])
        for source, rows in (("md", study.per_frame), ("dft", dft)):
            write_csv(work / f"bond_environments_{source}.csv", ["frame", *study.quantities],
                      [np.arange(len(rows)), *rows.T])
        quantities = {q: {"study": study.mean[k], "study_err": study.sem[k],
                          "dft_mean": dft[:, k].mean(), "dft_std": dft[:, k].std(),
                          "dft_min": dft[:, k].min(), "dft_max": dft[:, k].max()}
                      for k, q in enumerate(study.quantities)}
        DFTReferenceSummary(system=system.name, T=T, label=ref.label,
                            study_formula=traj.atoms(0).get_chemical_formula(),
                            dft_formulas=[r.atoms(0).get_chemical_formula() for r in references],
                            study_frames=len(study.per_frame),
                            dft_frames=len(dft), quantities=quantities).write(work, provenance(
            inputs={"trajectory": md_path, **{f"dft frames {k}": f for k, f in enumerate(ref.frames)}},
            parameters={"reference": ref.model_dump(), "T": T, "bond_cutoff_A": BondEnvironments().cutoff}))
    return run


def softness_model_runner(study, seed: int):
    """The one hyperplane of a study, trained on the Li of the reference systems' MD at
    softness_T (role ``md``: {system: folder})."""
    def run(work: Path, deps) -> None:
        trajs = {name: open_trajectory(folder / "trajectory.h5") for name, folder in deps["md"].items()}
        train_reference(trajs, work, increment_ps=study.analysis.softness_increment_ps,
                        seed=seed, reference=study.analysis.softness_reference)
    return run


def softness_runner(system, study, seed: int):
    """Apply the study's hyperplane to ``system``: softness of every Li, its relations, and the
    accuracy on Li never seen in training."""
    def run(work: Path, deps) -> None:
        model, meta = SoftnessModel.load(deps["model"] / "softness_model.joblib")
        traj = open_trajectory(deps["md"] / "trajectory.h5")
        axis = system.axis if system.kind == "glass-ceramic" else None
        summary = softness_study(traj, work, increment_ps=meta["increment_ps"], radius=meta["radius"],
                                 features=RadialFeatures(**meta["features"]), seed=seed,
                                 model=model, axis=axis,
                                 thresholds=(meta["thresholds"]["high"], meta["thresholds"]["low"]),
                                 stop=window_frames(traj, meta["increment_ps"], meta["window_ps"]) + 1)
        accuracy = held_out_accuracy(model, meta, traj, system.name)
        summary.update(system=system.name, reference=meta["reference"], C=meta["C"],
                       test_accuracy=accuracy["accuracy"], held_out=accuracy)
        record = json.loads((work / "summary.json").read_text())
        SoftnessSummary(**summary).write(work, record["provenance"])
    return run


def report_runner(study):
    """The report from its dependencies' folders (roles: :meth:`StudyLayout.report_roles`)."""
    def run(work: Path, deps) -> None:
        build_study_report(study_results(study, deps), study, work)
    return run


def study_results(study, folders: dict) -> StudyResults:
    """The finished results of a study from the folders of the report's roles (those not
    finished yet are left out): what :func:`ionscope.report.study.build_study_report` reads."""
    def finished(folder: Path | None) -> Path | None:
        return folder if folder is not None and folder.is_dir() else None

    systems, sources = {}, {}
    for system in study.systems:
        name = system.name
        done = {T: folders["analysis"][(name, T)] for T in study.md.temperatures
                if finished(folders["analysis"][(name, T)])}
        pressure = {T: folders["md"][(name, T)] / "pressure.json" for T in study.md.temperatures}
        pressure = {T: p for T, p in pressure.items() if p.exists()}
        transport = finished(folders["transport"][name])
        softness = finished(folders.get("softness", {}).get(name))
        reference = finished(folders.get("dft-reference", {}).get(name))
        systems[name] = SystemResults(
            name=name, kind=system.kind, analysis_dirs=done,
            analyses={T: AnalysisSummary.read(d) for T, d in done.items()},
            pressure={T: PressureRecord.read(p) for T, p in pressure.items()},
            transport=TransportSummary.read(transport) if transport else None,
            softness=SoftnessSummary.read(softness) if softness else None, softness_dir=softness,
            dft_reference=DFTReferenceSummary.read(reference) if reference else None)
        sources.update({f"{name} analysis {T:g} K": d / SUMMARY_FILE for T, d in done.items()})
        sources.update({f"{name} pressure {T:g} K": p for T, p in pressure.items()})
        sources.update({f"{name} {role}": d / SUMMARY_FILE
                        for role, d in (("transport", transport), ("softness", softness),
                                        ("dft reference", reference)) if d})
    model_dir = finished(folders.get("softness-model"))
    if model_dir:
        sources["softness model"] = model_dir / SUMMARY_FILE
    return StudyResults(systems=systems, sources=sources, softness_model_dir=model_dir,
                        softness_model=SoftnessModelSummary.read(model_dir) if model_dir else None)
