"""ionscope.dft: CP2K labels (the real program), analytic D3, and curation to one level of theory."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from ase.build import bulk
from ase.units import Bohr, Hartree

from conftest import TEST_MPI_RANKS
from ionscope.dft import CP2KSettings, curate, d3_terms, get_preset, label_frames
from ionscope.dft.compare import level_evidence
from ionscope.dft.cp2k import run_single_point
from ionscope.dft.settings import SCF_FALLBACK_SMEARING_K
from ionscope.io import open_trajectory
from ionscope.io.deepmd_npy import load_system

needs_cp2k = pytest.mark.skipif(shutil.which("cp2k.popt") is None,
                                reason="CP2K not installed (apt-get install cp2k)")

# A cheap level for the tiny cell: the data's basis family, double-zeta for every element, 150 Ry.
TINY = CP2KSettings(name="tiny", d3=False, cutoff=150, rel_cutoff=30,
                    basis={"Li": "DZVP-MOLOPT-SR-GTH", "P": "DZVP-MOLOPT-SR-GTH",
                           "S": "DZVP-MOLOPT-SR-GTH"}, eps_scf=1e-5, eps_default=1e-10)


# the converged wavefunction of li2s() at TINY: rattled frames start from it (tests/data/README.md)
LI2S_WFN = Path(__file__).parent / "data" / "li2s-tiny-pbe.wfn"


def li2s(rattle: float = 0.0, seed: int = 0):
    """Antifluorite Li2S, conventional cell (12 atoms), optionally rattled."""
    atoms = bulk("Li2S", "fluorite", a=5.708, cubic=True)
    if rattle:
        atoms.rattle(rattle, seed=seed)
    return atoms


def cp2k_force_sum(output):
    """CP2K's printed sum of the atomic forces, in eV/Å."""
    line = next(ln for ln in output.read_text().splitlines() if "SUM OF ATOMIC FORCES" in ln)
    return np.array([float(v) for v in line.split()[4:7]]) * Hartree / Bohr


def test_d3_forces_and_virial_are_energy_derivatives():
    atoms = li2s(0.1)
    symbols, pos, cell = atoms.get_chemical_symbols(), atoms.positions, atoms.cell.array
    terms = d3_terms(symbols, pos, cell)
    assert terms.energy < 0
    h = 1e-6  # small: the real-space cutoff makes the energy step where a pair crosses it
    shifted = pos.copy()
    shifted[3, 1] += h
    up = d3_terms(symbols, shifted, cell).energy
    shifted[3, 1] -= 2 * h
    down = d3_terms(symbols, shifted, cell).energy
    assert -(up - down) / (2 * h) == pytest.approx(terms.forces[3, 1], abs=1e-6)
    for i in range(3):
        strain = np.eye(3)
        strain[i, i] += h
        up = d3_terms(symbols, pos @ strain.T, cell @ strain.T).energy
        strain[i, i] -= 2 * h
        down = d3_terms(symbols, pos @ strain.T, cell @ strain.T).energy
        assert -(up - down) / (2 * h) == pytest.approx(terms.virial[i, i], abs=1e-5)


@needs_cp2k
def test_cp2k_d3_difference_equals_analytic_d3(tmp_path):
    """CP2K PBE-D3 minus CP2K PBE is the analytic D3 of the dftd3 package (what curation adds)."""
    atoms = li2s(0.15, seed=3)
    args = (atoms.get_chemical_symbols(), atoms.positions, atoms.cell.array)
    pbe = run_single_point(tmp_path / "pbe", *args, TINY, restart_wfn=LI2S_WFN,
                           mpi=TEST_MPI_RANKS)
    wfn = tmp_path / "pbe" / "frame-RESTART.wfn"
    pbe_d3 = run_single_point(tmp_path / "d3", *args, TINY.model_copy(update={"d3": True}),
                              mpi=TEST_MPI_RANKS, restart_wfn=wfn)
    d3 = d3_terms(*args)
    assert pbe_d3.energy - pbe.energy == pytest.approx(d3.energy, abs=2e-4 * len(atoms))
    assert np.abs(pbe_d3.forces - pbe.forces - d3.forces).max() < 2e-3
    assert np.abs(pbe_d3.virial - pbe.virial - d3.virial).max() < 0.02
    assert pbe_d3.scf_steps < pbe.scf_steps  # D3 leaves the density alone: the restart converges


@needs_cp2k
def test_label_frames_writes_a_deepmd_system_and_resumes(tmp_path):
    frames = [li2s(0.05, seed=1), li2s(0.10, seed=2)]
    out = tmp_path / "li2s"
    with pytest.warns(UserWarning, match="only 5.7 Å wide"):   # Γ only in a 5.7 Å cell
        report = label_frames(frames, out, TINY, sources=["a", "b"], progress=False,
                              mpi=TEST_MPI_RANKS, guess_wfn=LI2S_WFN)
    assert report.labelled == [0, 1] and not report.failed and report.reused == 0
    traj = open_trajectory(out)
    assert traj.n_frames == 2 and list(traj.symbols) == frames[0].get_chemical_symbols()
    np.testing.assert_allclose(traj[1].positions, frames[1].positions, atol=1e-5)
    forces = np.load(out / "set.000" / "force.npy").reshape(2, -1, 3)
    for k in range(2):   # the parsed forces add up to CP2K's own "SUM OF ATOMIC FORCES" line
        np.testing.assert_allclose(forces[k].sum(axis=0),
                                   cp2k_force_sum(out / "work" / f"frame-{k:05d}" / "cp2k.out"),
                                   atol=1e-4)
    assert np.abs(forces[1]).max() > np.abs(forces[0]).max()  # larger rattle, larger forces
    virial = np.load(out / "set.000" / "virial.npy").reshape(2, 3, 3)
    np.testing.assert_allclose(virial, np.swapaxes(virial, 1, 2), atol=1e-3)
    meta = json.loads((out / "labels.json").read_text())
    assert meta["level_of_theory"] == "PBE" and meta["parameters"]["settings"]["cutoff"] == 150
    assert [f["source"] for f in meta["frames"]] == ["a", "b"]
    assert meta["parameters"]["kpoint_grid_frame_0"] == [1, 1, 1]
    # the second frame started from the first one's wavefunction
    assert "WFN_RESTART_FILE_NAME" in (out / "work" / "frame-00001" / "cp2k.inp").read_text()
    energies = np.load(out / "set.000" / "energy.npy")
    written = (out / "labels.json").read_bytes()
    again = label_frames(frames, out, TINY, progress=False)
    assert again.reused == 2 and again.labelled == [0, 1]
    assert (out / "labels.json").read_bytes() == written       # nothing new: nothing rewritten
    np.testing.assert_array_equal(np.load(out / "set.000" / "energy.npy"), energies)
    # a changed frame is recomputed, the unchanged one reused
    frames[1] = li2s(0.12, seed=2)
    changed = label_frames(frames, out, TINY, progress=False, guess_wfn=LI2S_WFN,
                           mpi=TEST_MPI_RANKS)
    assert changed.reused == 1 and np.load(out / "set.000" / "energy.npy")[0] == energies[0]


@needs_cp2k
def test_failed_frames_are_reported_and_never_stored(tmp_path):
    # smearing on already: no fallback is left for the SCF
    unconverged = TINY.model_copy(update={"max_scf": 2, "max_outer_scf": 1, "eps_scf": 1e-9,
                                          "smearing_K": 300.0})
    report = label_frames([li2s(0.1)], tmp_path / "bad", unconverged, progress=False)
    assert report.labelled == [] and "SCF did not converge" in report.failed[0]
    assert not (tmp_path / "bad" / "set.000").exists()
    # a retry in the same folder (CP2K appends to an existing cp2k.out) reads its own run only
    atoms = li2s(0.1)
    folder = tmp_path / "bad" / "work" / "frame-00000"
    retry = run_single_point(folder, atoms.get_chemical_symbols(), atoms.positions,
                             atoms.cell.array, TINY, restart_wfn=LI2S_WFN, mpi=TEST_MPI_RANKS)
    assert np.isfinite(retry.energy) and retry.scf_steps > 2
    assert (folder / "cp2k.out").read_text().count("PROGRAM STARTED AT") == 1
    timed_out = label_frames([li2s(0.1)], tmp_path / "slow", TINY, timeout=0.5, progress=False)
    assert "timed out" in timed_out.failed[0]
    meta = json.loads((tmp_path / "slow" / "labels.json").read_text())
    assert meta["frames"] == [] and "timed out" in meta["failed"][0]["reason"]


@needs_cp2k
def test_an_scf_that_fails_with_integer_occupations_is_solved_with_smearing(tmp_path):
    """A frame whose SCF does not converge with integer occupations (here cut at 2 steps) is
    solved again with 300 K Fermi-Dirac smearing, recorded with its label; on an insulator
    (Li2S, a gap of eV) that is the same label."""
    atoms = li2s(0.1, seed=4)
    cut = TINY.model_copy(update={"max_scf": 2, "max_outer_scf": 1})
    report = label_frames([atoms], tmp_path / "cut", cut, progress=False, mpi=TEST_MPI_RANKS)
    assert report.labelled == [0] and not report.failed
    meta = json.loads((tmp_path / "cut" / "labels.json").read_text())
    assert meta["frames"][0]["smearing_K"] == SCF_FALLBACK_SMEARING_K
    assert "SMEAR ON" in (tmp_path / "cut" / "work" / "frame-00000" / "cp2k.inp").read_text()
    smeared = load_system(tmp_path / "cut")
    plain = run_single_point(tmp_path / "plain", atoms.get_chemical_symbols(), atoms.positions,
                             atoms.cell.array, TINY, restart_wfn=LI2S_WFN, mpi=TEST_MPI_RANKS)
    assert plain.smearing_K == 0.0
    assert abs(smeared["energy"][0] - plain.energy) / len(atoms) < 1e-4          # eV/atom
    np.testing.assert_allclose(smeared["force"][0].reshape(-1, 3), plain.forces, atol=2e-3)
    np.testing.assert_allclose(smeared["virial"][0].reshape(3, 3), plain.virial, atol=2e-2)


S_FRAME0_WFN = Path(__file__).parent / "data" / "S-frame0-pbe.wfn"


@pytest.mark.slow
@needs_cp2k
def test_cp2k_reproduces_stored_labels_of_the_data(shared_data, tmp_path):
    """The stored labels of the elemental S AIMD system are PBE without D3 (the level the data
    carries for its AIMD systems): CP2K at the data's settings reproduces them, and the analytic
    D3 puts PBE-D3 visibly further away (the evidence ``ionscope dft compare`` prints)."""
    stored = shared_data / "lips-dft" / "S"
    atoms = open_trajectory(stored).atoms(0)
    # the SCF starts from a PBE wavefunction of this frame (tests/data; it saves ~40 SCF steps
    # from the atomic guess) and still has to converge to EPS_SCF at these settings
    report = label_frames([atoms], tmp_path / "S", get_preset("lips-pbe"), mpi=2,
                          sources=[f"{stored}#0"], progress=False, guess_wfn=S_FRAME0_WFN)
    assert report.labelled == [0]
    evidence = level_evidence(stored, tmp_path / "S")
    assert evidence.level == "PBE"
    assert evidence.energy_vs_pbe < 2 and evidence.energy_vs_pbe_d3 > 50      # meV/atom
    assert evidence.force_vs_pbe < 5 and evidence.force_vs_pbe_d3 > 10        # meV/Å
    assert evidence.stress_vs_pbe < 0.3                                       # GPa


def _copy_system(src, dst, frames):
    dst.mkdir(parents=True)
    for name in ("type.raw", "type_map.raw"):
        shutil.copyfile(src / name, dst / name)
    (dst / "set.000").mkdir()
    for path in (src / "set.000").glob("*.npy"):
        np.save(dst / "set.000" / path.name, np.load(path)[:frames])


def test_curate_adds_then_removes_d3_exactly(shared_data, tmp_path):
    data = tmp_path / "data"
    _copy_system(shared_data / "lips-dft" / "S", data / "S", 4)
    _copy_system(shared_data / "lips-dft" / "glass-iter0-002", data / "glass-iter0-002", 2)
    rows = {r.system: r for r in curate(data, tmp_path / "d3", progress=False)}
    assert rows["S"].action == "added D3" and rows["glass-iter0-002"].action == "kept"
    assert rows["S"].d3_energy_per_atom < 0 and rows["S"].d3_pressure_gpa < 0
    raised = np.load(tmp_path / "d3" / "S" / "set.000" / "energy.npy")
    original = np.load(data / "S" / "set.000" / "energy.npy")
    assert np.all(raised < original)
    np.testing.assert_array_equal(np.load(tmp_path / "d3" / "glass-iter0-002" / "set.000" /
                                          "energy.npy"),
                                  np.load(data / "glass-iter0-002" / "set.000" / "energy.npy"))
    back = curate(tmp_path / "d3", tmp_path / "pbe", target="PBE",
                  levels={"*": "PBE-D3(0)"}, progress=False)
    assert {r.action for r in back} == {"removed D3"}
    for name in ("energy", "force", "virial", "coord", "box"):
        np.testing.assert_allclose(np.load(tmp_path / "pbe" / "S" / "set.000" / f"{name}.npy"),
                                   np.load(data / "S" / "set.000" / f"{name}.npy"),
                                   rtol=0, atol=1e-9)
    report = (tmp_path / "d3" / "curation.md").read_text()
    assert "| S | 4 | 32 | PBE | added D3 |" in report
    assert json.loads((tmp_path / "d3" / "curation.json").read_text())["level_of_theory"] == \
        "PBE-D3(0)"


def test_curate_refuses_unknown_levels(shared_data, tmp_path):
    data = tmp_path / "data"
    _copy_system(shared_data / "lips-dft" / "S", data / "S", 1)
    with pytest.raises(ValueError, match="S: level of theory unknown"):
        curate(data, tmp_path / "out", levels={"glass*": "PBE"}, progress=False)
    with pytest.raises(ValueError, match="'B3LYP' is not one of"):
        curate(data, tmp_path / "out", levels={"*": "B3LYP"}, progress=False)
    with pytest.raises(ValueError, match="must not be written inside"):
        curate(data, data / "curated", progress=False)


@needs_cp2k
def test_label_frames_through_dpdispatcher(tmp_path):
    """The same labels through dpdispatcher's local shell (what SLURM/PBS/LSF use remotely)."""
    pytest.importorskip("dpdispatcher")
    report = label_frames([li2s(0.05, seed=1)], tmp_path / "out", TINY, progress=False,
                          dispatch={}, workdir=tmp_path / "work", guess_wfn=LI2S_WFN)
    assert report.labelled == [0] and not report.failed
    assert (tmp_path / "work" / "frame-00000" / "cp2k.out").exists()
    # the guess travelled with the task and started its SCF
    assert "WFN_RESTART_FILE_NAME guess.wfn" in (tmp_path / "work" / "frame-00000" / "cp2k.inp").read_text()
    assert "SCF_GUESS RESTART" in (tmp_path / "work" / "frame-00000" / "cp2k.inp").read_text()
    forces = np.load(tmp_path / "out" / "set.000" / "force.npy").reshape(-1, 3)
    np.testing.assert_allclose(forces.sum(axis=0), cp2k_force_sum(
        tmp_path / "work" / "frame-00000" / "cp2k.out"), atol=1e-4)


@needs_cp2k
def test_cli_labels_a_volume_series_and_reports_failures(tmp_path, capsys):
    from ionscope.cli import main

    li2s().write(tmp_path / "li2s.extxyz")
    code = main(["dft", "label", str(tmp_path / "li2s.extxyz"), "--out", str(tmp_path / "eos"),
                 "--preset", "lips-pbe", "--volumes", "0.97,1.03", "--timeout", "0.5"])
    out = capsys.readouterr().out
    assert code == 1 and "0 frames labelled at PBE (0 reused), 2 failed" in out
    assert "timed out" in out
    meta = json.loads((tmp_path / "eos" / "labels.json").read_text())
    assert [f["index"] for f in meta["failed"]] == [0, 1]
    assert main(["dft", "label", str(tmp_path / "li2s.extxyz"), "--out", str(tmp_path / "x"),
                 "--volumes", "0.9,-1"]) == 2
    assert "volume factors must be positive" in capsys.readouterr().err
    assert main(["dft", "label", str(tmp_path / "li2s.extxyz"), "--out", str(tmp_path / "x"),
                 "--smearing", "-300"]) == 2
    assert "--smearing -300: expected an electronic temperature in K" in capsys.readouterr().err


def test_level_evidence_reads_frames_of_every_set(tmp_path):
    """``dft compare`` reads both systems with the project's one DeePMD npy reader, so a
    relabelled frame from the second ``set.*`` of the stored system is found (frame indices run
    over all sets, as in ``open_trajectory``); identical labels are PBE, not PBE-D3."""
    atoms = li2s(0.1)
    stored, relabelled = tmp_path / "stored", tmp_path / "relabelled"
    rng = np.random.default_rng(0)
    n = len(atoms)
    coord = np.stack([atoms.positions.ravel() + rng.normal(0, 0.05, 3 * n) for _ in range(4)])
    labels = {"coord": coord, "box": np.tile(atoms.cell.array.ravel(), (4, 1)),
              "energy": rng.normal(size=4), "force": rng.normal(size=(4, 3 * n)),
              "virial": rng.normal(size=(4, 9))}
    type_map = ["Li", "S"]
    for root, sets in ((stored, {"set.000": slice(0, 2), "set.001": slice(2, 4)}),
                       (relabelled, {"set.000": [3]})):
        root.mkdir()
        (root / "type.raw").write_text("".join(f"{type_map.index(s)}\n" for s in atoms.symbols))
        (root / "type_map.raw").write_text("\n".join(type_map) + "\n")
        for name, sel in sets.items():
            (root / name).mkdir()
            for key, array in labels.items():
                np.save(root / name / f"{key}.npy", array[sel])
    (relabelled / "labels.json").write_text(json.dumps(
        {"level_of_theory": "PBE", "frames": [{"source": f"{stored}#3"}]}))
    evidence = level_evidence(stored, relabelled)
    assert evidence.frames == 1 and evidence.atoms == n
    assert evidence.energy_vs_pbe == 0 and evidence.force_vs_pbe == 0 and evidence.level == "PBE"


def test_kpoint_grid_is_the_smallest_supercell_at_least_as_wide():
    from ionscope.dft.cp2k import gamma_centred_kpoints, render_input, restart_suffix

    beta32 = np.diag([12.819, 8.22, 6.1235])
    assert get_preset("lips-pbe-d3").kpoint_grid(beta32) == (1, 1, 1)       # the data: Γ only
    assert get_preset("lips-pbe-d3-12A").kpoint_grid(beta32) == (1, 2, 2)
    primitive = bulk("Li2S", "fluorite", a=5.708).cell.array               # widths a/√3 = 3.30 Å
    assert TINY.model_copy(update={"supercell_width": 6.0}).kpoint_grid(primitive) == (2, 2, 2)
    assert TINY.model_copy(update={"supercell_width": 6.7}).kpoint_grid(primitive) == (3, 3, 3)
    # time reversal merges k and −k: 0 and 1/2 stand alone, 1/3 stands for 2/3
    points = gamma_centred_kpoints((3, 1, 2))
    assert sum(w for _, w in points) == 6 and len(points) == 4
    weights = {tuple(np.round(k, 4)): w for k, w in points}
    assert weights[(0.3333, 0.0, 0.0)] == 2 and weights[(0.0, 0.0, 0.5)] == 1
    # a k-point input diagonalises (OT is Γ only) and never restarts from a Γ wavefunction
    atoms = li2s()
    kp = TINY.model_copy(update={"supercell_width": 10.0})
    text = render_input(atoms.get_chemical_symbols(), atoms.positions, atoms.cell.array, kp,
                        restart_wfn="elsewhere/frame-RESTART.wfn")
    assert "&KPOINTS" in text and "&DIAGONALIZATION" in text and "&OT" not in text
    assert text.count("KPOINT ") == 8 and "SCF_GUESS ATOMIC" in text
    assert restart_suffix((1, 1, 1)) == ".wfn" and restart_suffix((1, 2, 1)) == ".kp"
    gamma = render_input(atoms.get_chemical_symbols(), atoms.positions, atoms.cell.array, TINY)
    assert "&KPOINTS" not in gamma and "&OT" in gamma


@needs_cp2k
def test_kpoints_give_the_supercell_label(tmp_path):
    """A rattled 3-atom Li2S cell on a 1×1×2 Γ-centred grid = its 6-atom supercell at Γ."""
    cell = bulk("Li2S", "fluorite", a=5.708)
    vectors = cell.cell.array.copy()
    vectors[2] *= 0.8                   # widths 3.30, 3.30, 2.64 Å: only the third axis doubles
    cell.set_cell(vectors, scale_atoms=True)
    cell.rattle(0.1, seed=3)
    settings = TINY.model_copy(update={"supercell_width": 3.0})
    assert settings.kpoint_grid(cell.cell.array) == (1, 1, 2)
    small = run_single_point(tmp_path / "k", cell.get_chemical_symbols(), cell.positions,
                             cell.cell.array, settings, mpi=TEST_MPI_RANKS)
    big = cell * (1, 1, 2)
    assert settings.kpoint_grid(big.cell.array) == (1, 1, 1)
    ref = run_single_point(tmp_path / "gamma", big.get_chemical_symbols(), big.positions,
                           big.cell.array, settings, mpi=TEST_MPI_RANKS)
    assert (tmp_path / "k" / "frame-RESTART.kp").exists()
    # equal up to the real-space grids, which CP2K sizes per cell (at 500 Ry on β-Li3PS4:
    # 0.001 meV/atom, 0.05 meV/Å); Γ only in the small cell is far off
    assert abs(small.energy / 3 - ref.energy / 6) < 2e-3                    # eV/atom
    np.testing.assert_allclose(np.tile(small.forces, (2, 1)), ref.forces, atol=5e-3)   # eV/Å
    np.testing.assert_allclose(small.virial / 3, ref.virial / 6, rtol=1e-2, atol=5e-3)  # 150 Ry
    assert np.abs(small.forces).max() > 0.05                               # not zero by symmetry


def test_equation_of_state_finds_the_zero_of_a_linear_pressure(tmp_path):
    """Frames of a cubic cell whose virial gives P(V) = 20 GPa (1 − V/V₀), written as a DeePMD
    system in shuffled order: the zero-pressure volume is V₀ exactly, and the pressures are read
    back in GPa; a series that never crosses zero is refused."""
    from ionscope.dft import EquationOfState
    from ionscope.dft.cp2k import EV_PER_A3_IN_GPA

    v0, n = 1000.0, 4
    volumes = np.array([1.04, 0.94, 1.0, 0.97, 1.06]) * 900.0       # 846 … 954 Å³, all < V₀
    volumes = np.append(volumes, 1.05 * v0)                         # one frame past V₀
    pressure = 20.0 * (1 - volumes / v0)
    system = tmp_path / "eos"
    (system / "set.000").mkdir(parents=True)
    (system / "type.raw").write_text("0\n0\n1\n1\n")
    (system / "type_map.raw").write_text("Li\nS\n")
    boxes = np.array([np.eye(3).ravel() * v ** (1 / 3) for v in volumes])
    np.save(system / "set.000" / "box.npy", boxes)
    np.save(system / "set.000" / "coord.npy", np.zeros((len(volumes), 3 * n)))
    np.save(system / "set.000" / "energy.npy", np.zeros(len(volumes)))
    np.save(system / "set.000" / "force.npy", np.zeros((len(volumes), 3 * n)))
    virial = np.array([np.eye(3).ravel() * p * v / EV_PER_A3_IN_GPA for p, v in zip(pressure, volumes)])
    np.save(system / "set.000" / "virial.npy", virial)
    eos = EquationOfState.from_labels(system)
    assert np.all(np.diff(eos.volume) > 0)
    assert np.allclose(eos.pressure, 20.0 * (1 - eos.volume / v0))
    assert eos.zero_pressure_volume() == pytest.approx(v0, rel=1e-12)
    np.save(system / "set.000" / "virial.npy", np.abs(virial))
    with pytest.raises(ValueError, match="do not bracket zero"):
        EquationOfState.from_labels(system).zero_pressure_volume()


def test_thermal_zero_pressure_volume_of_a_known_plane(tmp_path, rng):
    """Frames at several volumes in two systems at 300 and 600 K whose pressure is the plane
    P = −25 GPa (v − v₀)/v₀ + 0.004 GPa/K (T − 300) plus noise: the fitted zero at 300 K is v₀
    within its error, and at 600 K it moves out by v₀·0.004·300/25; no noise gives it exactly."""
    from ionscope.dft import thermal_zero_pressure_volume
    from ionscope.dft.cp2k import EV_PER_A3_IN_GPA

    v0, n = 20.0, 4

    def system(name, T, noise):
        v = v0 * np.linspace(0.95, 1.05, 9)
        pressure = -25 * (v - v0) / v0 + 0.004 * (T - 300) + noise * rng.normal(size=len(v))
        path = tmp_path / name
        (path / "set.000").mkdir(parents=True)
        (path / "type.raw").write_text("0\n" * n)
        (path / "type_map.raw").write_text("Li\n")
        np.save(path / "set.000" / "box.npy", [np.eye(3).ravel() * (x * n) ** (1 / 3) for x in v])
        np.save(path / "set.000" / "virial.npy",
                [np.eye(3).ravel() * p * x * n / EV_PER_A3_IN_GPA for p, x in zip(pressure, v)])
        for key, width in (("coord", 3 * n), ("force", 3 * n)):
            np.save(path / "set.000" / f"{key}.npy", np.zeros((len(v), width)))
        np.save(path / "set.000" / "energy.npy", np.zeros(len(v)))
        return path

    exact = [system("a", 300, 0.0), system("b", 600, 0.0)]
    shift = v0 * 0.004 * 300 / 25
    assert thermal_zero_pressure_volume(exact, [300, 600], at=300)[0] == pytest.approx(v0, rel=1e-10)
    assert thermal_zero_pressure_volume(exact, [300, 600], at=600)[0] == pytest.approx(v0 + shift, rel=1e-10)
    noisy = [system("c", 300, 0.3), system("d", 600, 0.3)]
    fitted, err = thermal_zero_pressure_volume(noisy, [300, 600], at=300)
    assert 0 < err < 0.1 and abs(fitted - v0) < 4 * err
    with pytest.raises(ValueError, match="temperatures"):
        thermal_zero_pressure_volume(noisy, [300], at=300)
