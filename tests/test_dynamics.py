"""Transport analysis: analytic random walks, exact brute-force checks and peer libraries
(MDAnalysis, pymatgen-analysis-diffusion, kinisi) on the same trajectories."""

from __future__ import annotations

import inspect
import re
import warnings

import numpy as np
import pytest

from ionscope.analysis.base import ResultsNotComputedError, TrajectoryAnalysis
from ionscope.analysis.dynamics import (
    MSD, DiffusionCoefficient, DisplacementMap, DistinctVanHove, NotDiffusiveWarning, SelfVanHove,
    SlabRegions, VibrationalDOS, arrhenius, brownian_msd_covariance, diffusion_coefficient,
    displacement_map, nernst_einstein)
from ionscope.io import H5MDWriter, open_trajectory

DT = 0.01  # ps between frames


def write_h5(path, positions, symbols, cell=20.0, dt=DT):
    cells = np.tile(np.eye(3) * cell, (len(positions), 1, 1))
    with H5MDWriter(path, symbols) as writer:
        writer.append(positions, cells, range(len(positions)), np.arange(len(positions)) * dt)
    return open_trajectory(path)


def random_walk(rng, n_li=200, n_s=50, n_frames=400, D=0.5, drift=None, cell=20.0):
    """Li random walk with D in Å²/ps (per-component step variance 2·D·dt); S atoms at rest."""
    steps = rng.normal(0, np.sqrt(2 * D * DT), (n_frames, n_li, 3))
    steps[0] = 0
    li = rng.uniform(0, cell, (n_li, 3)) + np.cumsum(steps, axis=0)
    s = np.broadcast_to(rng.uniform(0, cell, (n_s, 3)), (n_frames, n_s, 3))
    pos = np.concatenate([li, s], axis=1)
    if drift is not None:
        pos = pos + np.arange(n_frames)[:, None, None] * DT * np.asarray(drift)
    return pos, ["Li"] * n_li + ["S"] * n_s


@pytest.fixture
def walk(tmp_path, rng):
    pos, sym = random_walk(rng)
    return write_h5(tmp_path / "walk.h5", pos, sym), pos


def test_random_walk_msd_is_6Dt(walk):
    traj, _ = walk
    res = MSD("Li", drift=None).run(traj, progress=False).results
    short = res.time < 1.0  # many origins: statistical error of a few %
    np.testing.assert_allclose(res.msd[short], 6 * 0.5 * res.time[short], rtol=0.06)
    np.testing.assert_allclose(res.msd_xyz[short], np.repeat(2 * 0.5 * res.time[short, None], 3, 1), rtol=0.1)
    assert np.abs(res.alpha2[short]).max() < 0.05
    np.testing.assert_allclose(res.exponent[short][1:-1], 1.0, atol=0.1)


def test_msd_equals_brute_force_over_all_origins(tmp_path, rng):
    pos, sym = random_walk(rng, n_li=7, n_s=3, n_frames=60)
    traj = write_h5(tmp_path / "small.h5", pos, sym)
    res = MSD("Li", drift=None, lags="all", memory_mb=0.01).run(traj, progress=False).results
    li = pos[:, :7]
    for k, lag in enumerate(res.lags):
        d = li[lag:] - li[:-lag]
        r2 = (d ** 2).sum(-1)
        assert res.msd[k] == pytest.approx(r2.mean(), rel=1e-9)
        assert res.r4[k] == pytest.approx((r2 ** 2).mean(), rel=1e-7)


def test_collective_and_per_atom_msd_equal_brute_force(tmp_path, rng):
    pos, sym = random_walk(rng, n_li=7, n_s=3, n_frames=60)
    traj = write_h5(tmp_path / "small.h5", pos, sym)
    weights = rng.normal(size=(2, 60))
    res = MSD("Li", drift=None, lags="all", memory_mb=0.01).run(traj, progress=False,
                                                                 per_atom_weights=weights).results
    li = pos[:, :7]
    total = li.sum(axis=1)
    per_atom = np.zeros((60, 7))
    for lag in range(1, 60):
        per_atom[lag] = ((li[lag:] - li[:-lag]) ** 2).sum(-1).mean(axis=0)
        dx = total[lag:] - total[:-lag]
        assert res.msd_collective[lag - 1] == pytest.approx((dx ** 2).sum(-1).mean() / 7, rel=1e-9)
    np.testing.assert_allclose(res.per_atom, weights @ per_atom, rtol=1e-9, atol=1e-9)


def test_brownian_msd_covariance_matches_monte_carlo(rng):
    """The exact covariance of the time-averaged MSD of a Brownian path at three lags against
    4000 simulated paths (1D, unit steps)."""
    n, lags = 120, np.array([3, 20, 60])
    x = np.cumsum(rng.normal(size=(4000, n)), axis=1)
    msd = np.array([((x[:, lag:] - x[:, :-lag]) ** 2).mean(axis=1) for lag in lags])
    np.testing.assert_allclose(brownian_msd_covariance(n, lags), np.cov(msd), rtol=0.1)


def _walks(tmp_path, rng, count, paired=False, **kwargs):
    """Independent random-walk runs (Li with D = 0.5 Å²/ps); ``paired``: Li in pairs that move
    together 1 Å apart, so the collective D is twice the self D (Haven ratio 0.5)."""
    for k in range(count):
        pos, sym = random_walk(rng, n_s=5, n_frames=400, **kwargs)
        if paired:
            n = sym.count("Li")
            pos = np.concatenate([pos[:, :n], pos[:, :n] + 1.0, pos[:, n:]], axis=1)
            sym = ["Li"] * 2 * n + ["S"] * 5
        with warnings.catch_warnings():   # a short walk's exponent may dip below 0.9 by chance
            warnings.simplefilter("ignore", NotDiffusiveWarning)
            yield diffusion_coefficient(write_h5(tmp_path / f"w{k}.h5", pos, sym), "Li", drift=None)


def test_d_error_is_honest_over_independent_random_walks(tmp_path, rng):
    """60 runs with known D: about 68 % of the reported D lie within 1 D_err of the truth and the
    mean D_err matches the observed scatter. The standard error of block slopes (the error bar
    reported before) is less than half of the scatter of the full-run D."""
    true_d = 0.5e-4
    runs = list(_walks(tmp_path, rng, 60, n_li=100))
    d = np.array([r.D for r in runs])
    err = np.array([r.D_err for r in runs])
    scatter = np.sqrt(np.mean((d - true_d) ** 2))
    assert 0.5 <= np.mean(np.abs(d - true_d) < err) <= 0.85
    assert 1 / 1.5 < err.mean() / scatter < 1.5
    assert np.mean([r.D_blocks_err for r in runs]) < 0.6 * scatter
    for r in runs[:3]:
        assert r.D_per_ion.mean() == pytest.approx(r.D, rel=1e-9)
    # independent ions: the collective D is the self D, within its (much larger) error bar
    d_sigma = np.array([r.D_sigma for r in runs])
    sigma_err = np.array([r.D_sigma_err for r in runs])
    assert d_sigma.mean() == pytest.approx(true_d, rel=0.15)
    assert 0.5 <= np.mean(np.abs(d_sigma - true_d) < sigma_err) <= 0.9
    assert 1 / 1.5 < sigma_err.mean() / np.sqrt(np.mean((d_sigma - true_d) ** 2)) < 1.5
    assert d.mean() / d_sigma.mean() == pytest.approx(1.0, abs=0.15)   # Haven ratio 1


def test_haven_ratio_of_ions_moving_in_pairs(tmp_path, rng):
    """Pairs of Li moving together: D_σ = 2 D*, H_R = 0.5, each within its error bar about as
    often as a 1σ interval should be."""
    runs = list(_walks(tmp_path, rng, 40, paired=True, n_li=50))
    d_sigma = np.array([r.D_sigma for r in runs])
    assert d_sigma.mean() == pytest.approx(1e-4, rel=0.2)
    assert 0.5 <= np.mean(np.abs(d_sigma - 1e-4) < np.array([r.D_sigma_err for r in runs])) <= 0.9
    haven = np.array([r.haven_ratio for r in runs])
    haven_err = np.array([r.haven_ratio_err for r in runs])
    assert np.mean([r.D for r in runs]) / d_sigma.mean() == pytest.approx(0.5, abs=0.1)
    assert 0.5 <= np.mean(np.abs(haven - 0.5) < haven_err) <= 0.95


def test_framework_drift_is_removed(tmp_path, rng):
    pos, sym = random_walk(rng, drift=[2.0, 0.0, 0.0])
    traj = write_h5(tmp_path / "drift.h5", pos, sym)
    fixed = MSD("Li", drift="framework").run(traj, progress=False).results
    raw = MSD("Li", drift=None).run(traj, progress=False).results
    short = fixed.time < 1.0
    np.testing.assert_allclose(fixed.msd[short], 3.0 * fixed.time[short], rtol=0.06)
    assert raw.msd[-1] > fixed.msd[-1] + 0.5 * (2.0 * raw.time[-1]) ** 2


def test_alpha2_of_two_populations_is_analytic(tmp_path, rng):
    """Half the ions with D1, half with D2: α₂ = (f s1⁴ + (1−f) s2⁴)/(f s1² + (1−f) s2²)² − 1."""
    fast, _ = random_walk(rng, n_li=300, n_s=1, D=1.0)
    slow, _ = random_walk(rng, n_li=300, n_s=1, D=0.1)
    pos = np.concatenate([fast[:, :300], slow[:, :300], fast[:, 300:]], axis=1)
    traj = write_h5(tmp_path / "mix.h5", pos, ["Li"] * 600 + ["S"])
    res = MSD("Li", drift=None).run(traj, progress=False).results
    expected = 0.5 * (1.0 ** 2 + 0.1 ** 2) / (0.5 * (1.0 + 0.1)) ** 2 - 1
    short = res.time < 0.5
    np.testing.assert_allclose(res.alpha2[short], expected, rtol=0.08)


def test_msd_matches_mdanalysis(walk):
    mda = pytest.importorskip("MDAnalysis")
    from MDAnalysis.analysis.msd import EinsteinMSD
    from MDAnalysis.coordinates.memory import MemoryReader

    traj, pos = walk
    u = mda.Universe.empty(pos.shape[1], trajectory=True)
    u.add_TopologyAttr("type", traj.symbols)
    u.load_new(pos, format=MemoryReader, dt=DT)
    ref = EinsteinMSD(u, select="type Li", msd_type="xyz", fft=True).run()
    ours = MSD("Li", drift=None, lags="all").run(traj, progress=False).results
    np.testing.assert_allclose(ours.msd, ref.results.timeseries[1:], rtol=1e-6)


def test_diffusion_coefficient_agrees_with_pymatgen(walk):
    traj, pos = walk
    true_d = 0.5 * 1e-4  # cm²/s
    ours = diffusion_coefficient(traj, "Li", n_blocks=4, drift=None)
    assert ours.D == pytest.approx(true_d, rel=0.1)
    assert abs(ours.D - true_d) < 4 * ours.D_err + 0.05 * true_d

    pmg = pytest.importorskip("pymatgen.analysis.diffusion.analyzer")
    from pymatgen.core import Lattice, Structure

    structure = Structure(Lattice.cubic(20.0), traj.symbols.tolist(), pos[0] / 20.0)
    disp = np.transpose(pos - pos[0], (1, 0, 2))  # Cartesian displacements (Å)
    analyzer = pmg.DiffusionAnalyzer(structure, disp, "Li", 300, time_step=10, step_skip=1,
                                     smoothed=False)
    # pymatgen's time_step is in fs: 10 fs = DT; its diffusivity is cm²/s
    assert analyzer.diffusivity == pytest.approx(true_d, rel=0.15)
    assert ours.D == pytest.approx(analyzer.diffusivity, rel=0.15)


def test_diffusion_coefficient_agrees_with_kinisi(walk):
    pytest.importorskip("kinisi")
    mda = pytest.importorskip("MDAnalysis")
    import scipp as sc
    from kinisi.analyze import DiffusionAnalyzer
    from MDAnalysis.coordinates.memory import MemoryReader

    traj, pos = walk
    u = mda.Universe.empty(pos.shape[1], trajectory=True)
    u.add_TopologyAttr("type", traj.symbols)
    u.load_new(pos.astype(np.float32), format=MemoryReader, dt=DT,
               dimensions=np.tile([20.0, 20.0, 20.0, 90, 90, 90], (len(pos), 1)))
    kin = DiffusionAnalyzer.from_universe(u, specie="Li", time_step=sc.scalar(DT, unit="ps"),
                                          step_skip=sc.scalar(1), progress=False)
    kin.diffusion(sc.scalar(0.4, unit="ps"), progress=False, random_state=np.random.RandomState(1))
    assert str(kin.D.unit) == "cm^2/s"
    kinisi_d = float(np.mean(kin.D.values))  # posterior mean
    ours = diffusion_coefficient(traj, "Li", n_blocks=4, drift=None)
    assert ours.D == pytest.approx(kinisi_d, rel=0.15)


def test_not_diffusive_warning_for_trapped_ions(tmp_path, rng):
    n, frames = 100, 300
    centres = rng.uniform(0, 20, (n, 3))
    pos = centres + rng.normal(0, 0.3, (frames, n, 3))  # vibrating in place
    traj = write_h5(tmp_path / "trap.h5", pos, ["Li"] * n)
    with pytest.warns(NotDiffusiveWarning, match="not diffusive"):
        res = diffusion_coefficient(traj, "Li", n_blocks=3, drift=None)
    assert not res.diffusive


def test_self_van_hove_is_gaussian(walk):
    traj, _ = walk
    vh = SelfVanHove("Li", lag_times=[0.2, 1.0], r_max=8.0, bins=80).run(traj).results
    for k, t in enumerate(vh.time):
        s2 = 2 * 0.5 * t  # per-component variance
        expected = 4 * np.pi * vh.r ** 2 * (2 * np.pi * s2) ** -1.5 * np.exp(-vh.r ** 2 / (2 * s2))
        assert np.trapezoid(vh.r2Gs[k], vh.r) == pytest.approx(1.0, abs=0.01)
        np.testing.assert_allclose(vh.r2Gs[k], expected, atol=0.08 * expected.max())
        assert np.trapezoid(vh.r ** 2 * vh.r2Gs[k], vh.r) == pytest.approx(3 * s2, rel=0.05)


def test_distinct_van_hove_at_zero_is_g_of_r(tmp_path, rng):
    from ionscope.analysis.structure import RDF

    pos, sym = random_walk(rng, n_li=300, n_s=10, n_frames=30, D=0.5, cell=15.0)
    traj = write_h5(tmp_path / "gd.h5", pos, sym, cell=15.0)
    gd = DistinctVanHove("Li", lag_times=[0.0, 0.2], r_max=6.0, bins=30, n_origins=5).run(traj).results
    rdf = RDF(r_max=6.0, bins=30, pairs=[("Li", "Li")])
    for k in np.unique(np.linspace(0, 29 - 0, 5).astype(int)):
        rdf.compute(traj[int(k)], symbols=traj.symbols, reset=k == 0)
    np.testing.assert_allclose(gd.Gd[0], rdf.results.g[("Li", "Li")], rtol=1e-9)
    np.testing.assert_allclose(gd.Gd[1][10:], 1.0, atol=0.15)  # uncorrelated walkers


def test_arrhenius_and_extrapolation():
    kb = 8.617333262e-5
    T = np.array([500.0, 600.0, 700.0, 800.0])
    D = 1e-3 * np.exp(-0.3 / (kb * T))
    fit = arrhenius(T, D, D_err=0.05 * D)
    assert fit.Ea == pytest.approx(0.3, rel=1e-9)
    assert fit.D0 == pytest.approx(1e-3, rel=1e-9)
    assert fit.D_extrapolated == pytest.approx(1e-3 * np.exp(-0.3 / (kb * 300)), rel=1e-9)
    # error bars: 5 % on each D gives E_a error of the order k_B·0.05/Δ(1/T)
    assert 0.001 < fit.Ea_err < 0.05 and fit.D_extrapolated_err > 0
    noisy = arrhenius(T, D * np.exp(np.random.default_rng(3).normal(0, 0.05, 4)), D_err=0.05 * D)
    assert abs(noisy.Ea - 0.3) < 3 * noisy.Ea_err


KB_EV = 8.617333262e-5


def _arrhenius_walks(tmp_path, rng, temperatures, ea=0.3, n_li=50):
    """One random-walk run per temperature with D(T) = D₀ exp(−E_a/k_B T), D(700 K) = 0.5 Å²/ps;
    returns the positions and our D results."""
    d0 = 0.5 / np.exp(-ea / (KB_EV * 700))
    runs = []
    for T in temperatures:
        pos, sym = random_walk(rng, n_li=n_li, n_s=0, n_frames=400, D=d0 * np.exp(-ea / (KB_EV * T)))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotDiffusiveWarning)
            runs.append((pos, diffusion_coefficient(write_h5(tmp_path / f"T{T:g}.h5", pos, sym), "Li",
                                                    drift=None)))
    return runs, d0 * 1e-4


def test_arrhenius_errors_are_honest_over_independent_runs(tmp_path, rng):
    """40 Arrhenius series (500, 700, 900 K) of random walks: E_a and the extrapolated D(300 K)
    lie within their 1σ error about as often as they should."""
    temperatures = np.array([500.0, 700.0, 900.0])
    hits_ea, hits_d300 = [], []
    for k in range(40):
        runs, d0 = _arrhenius_walks(tmp_path, rng, temperatures)
        fit = arrhenius(temperatures, [r.D for _, r in runs], [r.D_err for _, r in runs])
        hits_ea.append(abs(fit.Ea - 0.3) < fit.Ea_err)
        d300 = d0 * np.exp(-0.3 / (KB_EV * 300))
        hits_d300.append(abs(np.log(fit.D_extrapolated / d300)) < fit.D_extrapolated_err / fit.D_extrapolated)
    assert 0.5 <= np.mean(hits_ea) <= 0.9
    assert 0.5 <= np.mean(hits_d300) <= 0.9


def test_arrhenius_and_conductivity_agree_with_kinisi(tmp_path, rng):
    """kinisi on the same trajectories: its Bayesian D (generalised least squares with the MSD
    covariance) per temperature, its Arrhenius MCMC for E_a and D(300 K), and its
    ConductivityAnalyzer (mean-squared charge displacement) for σ. The estimates agree within
    the combined errors; kinisi's posteriors are somewhat narrower than ours (ours are checked
    for coverage over independent runs above)."""
    pytest.importorskip("kinisi")
    mda = pytest.importorskip("MDAnalysis")
    import scipp as sc
    from kinisi.analyze import ConductivityAnalyzer, DiffusionAnalyzer
    from kinisi.arrhenius import Arrhenius
    from MDAnalysis.coordinates.memory import MemoryReader
    from scipy.stats import uniform

    def universe(pos):
        u = mda.Universe.empty(pos.shape[1], trajectory=True)
        u.add_TopologyAttr("type", ["Li"] * pos.shape[1])
        u.load_new(pos.astype(np.float32), format=MemoryReader, dt=DT,
                   dimensions=np.tile([20.0, 20.0, 20.0, 90, 90, 90], (len(pos), 1)))
        return u

    temperatures = np.array([500.0, 700.0, 900.0])
    runs, _ = _arrhenius_walks(tmp_path, rng, temperatures, n_li=100)
    kin_d = []
    for k, (pos, ours) in enumerate(runs):
        kin = DiffusionAnalyzer.from_universe(universe(pos), specie="Li", time_step=sc.scalar(DT, unit="ps"),
                                              step_skip=sc.scalar(1), progress=False)
        kin.diffusion(sc.scalar(0.4, unit="ps"), progress=False, random_state=np.random.RandomState(k))
        kin_d.append((np.mean(kin.D.values), np.std(kin.D.values)))
        assert abs(ours.D - kin_d[-1][0]) < 2 * (ours.D_err + kin_d[-1][1])
    kin_d = np.array(kin_d)
    data = sc.DataArray(sc.array(dims=["temperature"], values=kin_d[:, 0], variances=kin_d[:, 1] ** 2,
                                 unit="cm^2/s"),
                        coords={"temperature": sc.array(dims=["temperature"], values=temperatures, unit="K")})
    np.random.seed(3)
    kin_fit = Arrhenius(data, priors=[uniform(0.05, 1.0), uniform(0.0, 0.1)])
    kin_fit.mcmc(n_samples=500, n_burn=200)
    kin_ea = kin_fit.activation_energy.values
    kin_d300 = kin_fit.extrapolate(sc.scalar(300.0, unit="K")).values
    ours = arrhenius(temperatures, [r.D for _, r in runs], [r.D_err for _, r in runs])
    assert abs(ours.Ea - kin_ea.mean()) < ours.Ea_err + kin_ea.std()
    assert 0.7 < ours.Ea_err / kin_ea.std() < 3
    assert abs(ours.D_extrapolated - kin_d300.mean()) < ours.D_extrapolated_err + kin_d300.std()

    pos, ours = runs[1]
    con = ConductivityAnalyzer.from_universe(universe(pos), specie="Li", time_step=sc.scalar(DT, unit="ps"),
                                             step_skip=sc.scalar(1),
                                             ionic_charge=sc.scalar(1.602176634e-19, unit="C"), progress=False)
    con.conductivity(sc.scalar(0.4, unit="ps"), sc.scalar(700.0, unit="K"), progress=False,
                     random_state=np.random.RandomState(1))
    kin_sigma = sc.to_unit(con.sigma, "S/cm").values
    sigma = nernst_einstein(ours.D_sigma, 100, 20.0 ** 3, 700.0)
    sigma_err = sigma * ours.D_sigma_err / ours.D_sigma
    assert abs(sigma - kin_sigma.mean()) < sigma_err + kin_sigma.std()


def test_nernst_einstein_hand_computed():
    # 48 Li in 1000 Å³ at 300 K with D = 1e-6 cm²/s:
    # n = 4.8e28 m⁻³; σ = n e² D / (k_B T) = 4.8e28 · (1.602176634e-19)² · 1e-10 / (1.380649e-23 · 300)
    #   = 1.232145e-19 / 4.141947e-21 = 29.748 S/m = 0.29748 S/cm
    assert nernst_einstein(1e-6, 48, 1000.0, 300.0) == pytest.approx(0.29748, rel=1e-4)


def test_region_resolved_msd(tmp_path, rng):
    """Ions that stay in their slab (they move only in x, y): the glass-slab MSD is that of the
    fast ions and the crystal-slab MSD that of the slow ones; fractions sum to one."""
    n, frames = 200, 200
    z = np.where(np.arange(n) < n // 2, 5.0, 15.0)  # glass slab z<10, crystal z>10
    d = np.where(np.arange(n) < n // 2, 1.0, 0.05)
    steps = rng.normal(0, 1, (frames, n, 3)) * np.sqrt(2 * d * DT)[None, :, None]
    steps[..., 2] = 0
    steps[0] = 0
    pos = np.concatenate([rng.uniform(0, 20, (n, 2)), z[:, None]], axis=1) + np.cumsum(steps, 0)
    traj = write_h5(tmp_path / "gc.h5", pos, ["Li"] * n)
    grid = np.linspace(0, 1, 40, endpoint=False)
    regions = SlabRegions(axis=2, grid=grid, crystal=grid >= 0.5, interfaces=np.array([0.0, 0.5]),
                          half_widths=np.array([0.05, 0.05]))
    res = MSD("Li", drift=None).run(traj, regions=regions, progress=False).results
    short = res.time < 0.5
    np.testing.assert_allclose(res.regions["glass"].msd[short], 4 * 1.0 * res.time[short], rtol=0.1)
    np.testing.assert_allclose(res.regions["crystal"].msd[short], 4 * 0.05 * res.time[short], rtol=0.1)
    total = sum(res.regions[r].msd * res.regions[r].origins for r in ("glass", "crystal")) / res.origins
    np.testing.assert_allclose(total, res.msd, rtol=1e-9)
    vh = SelfVanHove("Li", lag_times=[0.3], r_max=4.0, bins=40).run(traj, regions=regions).results
    for name, d_region in (("glass", 1.0), ("crystal", 0.05)):
        second_moment = np.trapezoid(vh.r ** 2 * vh.regions[name].r2Gs[0], vh.r)
        assert second_moment == pytest.approx(4 * d_region * vh.time[0], rel=0.1)
    fractions = res.region_fractions
    np.testing.assert_allclose(fractions["glass"] + fractions["interface"] + fractions["crystal"], 1.0)
    np.testing.assert_allclose(fractions["glass"], 0.5)


def test_vdos_of_harmonic_oscillators(tmp_path, rng):
    nu = 5.0  # THz
    t = np.arange(2000) * 0.002
    n = 50
    phase = rng.uniform(0, 2 * np.pi, (n, 3))
    pos = 10 + 0.1 * np.cos(2 * np.pi * nu * t[:, None, None] + phase)
    traj = write_h5(tmp_path / "ho.h5", pos, ["Li"] * n, dt=0.002)
    res = VibrationalDOS("Li", max_lag_ps=1.0).run(traj).results
    assert res.frequency_THz[np.argmax(res.vdos)] == pytest.approx(nu, abs=0.3)
    assert res.band_centre_THz == pytest.approx(nu, abs=0.5)
    assert np.trapezoid(res.vdos, res.frequency_THz) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="dense frames"):
        VibrationalDOS("Li").run(write_h5(tmp_path / "sparse.h5", pos[::20], ["Li"] * n, dt=0.04))


def test_displacement_map(tmp_path, rng):
    n, frames = 100, 50
    start = rng.uniform(0, 20, (n, 3))
    moving = start[:, 0] < 10
    pos = np.repeat(start[None], frames, 0)
    pos[:, moving, 2] += np.arange(frames)[:, None] * 0.1  # 1 Å per 10 frames
    traj = write_h5(tmp_path / "map.h5", pos, ["Li"] * n)
    m = displacement_map(traj, "Li", window_ps=0.1, plane=(0, 1), bins=2)
    np.testing.assert_allclose(m.mean_displacement[0], 1.0, atol=1e-9)
    np.testing.assert_allclose(m.mean_displacement[1], 0.0, atol=1e-9)


# ----------------------------------------------------------------------------- results contract


def _documented(cls) -> set[str]:
    """Field names listed in the ``Results`` section of a class docstring (``name: text``)."""
    section = inspect.getdoc(cls).split("Results\n-------\n", 1)[1]
    return {line.split(":", 1)[0] for line in section.splitlines()
            if re.match(r"^[A-Za-z_][A-Za-z0-9_]*:", line)}


ANALYSES = [MSD, SelfVanHove, DistinctVanHove, VibrationalDOS, DiffusionCoefficient, DisplacementMap]


@pytest.mark.parametrize("cls", ANALYSES, ids=lambda c: c.__name__)
def test_results_are_guarded_until_run(cls, tmp_path, rng):
    """Reading results before ``run``, or after a run that failed, is a clear error (freud's
    guard), not an empty namespace."""
    analysis = cls("Li")
    assert isinstance(analysis, TrajectoryAnalysis)
    with pytest.raises(ResultsNotComputedError, match=rf"{cls.__name__}\.results: nothing computed yet; call run"):
        analysis.results
    pos, sym = random_walk(rng, n_li=4, n_s=2, n_frames=40)
    traj = write_h5(tmp_path / "w.h5", pos, sym)
    failed = cls("Na")
    with pytest.raises(ValueError):  # no Na (or, for DisplacementMap, a window past the end)
        failed.run(traj)
    with pytest.raises(ResultsNotComputedError):
        failed.results


def test_failed_rerun_discards_old_results(walk):
    """Results of an earlier run are not mistaken for those of a run that failed."""
    traj, _ = walk
    msd = MSD("Li", drift=None).run(traj, stop=50, progress=False)
    assert len(msd.results.msd) > 0
    with pytest.raises(ValueError, match="at least two frames"):
        msd.run(traj, start=10, stop=11)
    with pytest.raises(ResultsNotComputedError):
        msd.results


def test_every_result_field_is_documented_with_its_analysis(tmp_path, rng):
    """Each dynamics analysis, run with every option, produces exactly the fields listed in the
    ``Results`` section of its docstring (regions: a subset of them)."""
    pos, sym = random_walk(rng, n_li=20, n_s=5, n_frames=60)
    traj = write_h5(tmp_path / "w.h5", pos, sym)
    grid = np.linspace(0, 1, 10, endpoint=False)
    regions = SlabRegions(axis=2, grid=grid, crystal=grid >= 0.5, interfaces=np.array([0.0, 0.5]),
                          half_widths=np.array([0.05, 0.05]))
    runs = {MSD: MSD("Li").run(traj, regions=regions, progress=False,
                               per_atom_weights=np.ones((1, 60))),
            SelfVanHove: SelfVanHove("Li", lag_times=[0.05]).run(traj, regions=regions),
            DistinctVanHove: DistinctVanHove("Li", lag_times=[0.0, 0.05], n_origins=2).run(traj),
            VibrationalDOS: VibrationalDOS("Li", max_lag_ps=0.2).run(traj),
            DisplacementMap: DisplacementMap("Li", window_ps=0.1, bins=4).run(traj)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotDiffusiveWarning)
        runs[DiffusionCoefficient] = DiffusionCoefficient("Li", n_blocks=2, drift=None).run(traj)
    assert set(runs) == set(ANALYSES)
    for cls, analysis in runs.items():
        documented = _documented(cls)
        assert set(vars(analysis.results)) == documented, cls.__name__
        for part in getattr(analysis.results, "regions", {}).values():
            assert set(vars(part)) <= documented | {"count"}, cls.__name__
    assert "count" in inspect.getdoc(SelfVanHove).split("Results\n-------\n", 1)[1]


def test_function_forms_return_the_class_results(walk):
    """``diffusion_coefficient`` and ``displacement_map`` are the classes' results in one call."""
    traj, _ = walk
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotDiffusiveWarning)
        one = diffusion_coefficient(traj, "Li", n_blocks=2, drift=None, stop=100)
        two = DiffusionCoefficient("Li", n_blocks=2, drift=None).run(traj, stop=100).results
    assert one.D == two.D and one.D_err == two.D_err
    np.testing.assert_array_equal(displacement_map(traj, "Li", window_ps=0.5, bins=5).mean_displacement,
                                  DisplacementMap("Li", window_ps=0.5, bins=5).run(traj).results.mean_displacement)


# ----------------------------------------------------------------------------- anion reorientation

PS = 2.05     # Å
TETRAHEDRON = np.array([[1, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1]]) / np.sqrt(3) * PS


def _ps4_units(rng, n_side=3, spacing=7.0):
    """Regular PS4 tetrahedra in random orientations on a cubic grid: centres (U, 3), bonds
    (U, 4, 3) and the cell edge."""
    from scipy.spatial.transform import Rotation

    grid = np.stack(np.meshgrid(*[np.arange(n_side)] * 3, indexing="ij"), -1).reshape(-1, 3)
    centres = (grid + 0.5) * spacing
    turns = Rotation.random(len(centres), random_state=rng).as_matrix()
    bonds = np.einsum("uij,kj->uki", turns, TETRAHEDRON)
    return centres, bonds, n_side * spacing


def _ps4_trajectory(tmp_path, centres, bonds_t, cell):
    """An H5MD file of P at ``centres`` and S at centres + bonds_t (T, U, 4, 3)."""
    n_frames, n_units = bonds_t.shape[:2]
    p = np.broadcast_to(centres, (n_frames, n_units, 3))
    s = (centres[None, :, None, :] + bonds_t).reshape(n_frames, 4 * n_units, 3)
    return write_h5(tmp_path / "ps4.h5", np.concatenate([p, s], axis=1),
                    ["P"] * n_units + ["S"] * (4 * n_units), cell=cell)


def test_anion_rotation_correlations_of_steadily_rotating_tetrahedra(tmp_path, rng):
    """Every PS4 turns about z at ω: û(t0)·û(t0+t) = u_z² + (1 − u_z²) cos ωt, and a regular
    tetrahedron has ⟨u_z²⟩ = 1/3 in any orientation, so C_1(t) = 1/3 + (2/3) cos ωt."""
    from scipy.spatial.transform import Rotation

    from ionscope.analysis.dynamics import AnionReorientation

    centres, bonds, cell = _ps4_units(rng)
    omega, n_frames = 0.7, 200                          # rad/ps, DT = 0.01 ps between frames
    turns = Rotation.from_rotvec(np.outer(np.arange(n_frames) * DT * omega, [0, 0, 1]))
    bonds_t = np.stack([r.apply(bonds.reshape(-1, 3)).reshape(bonds.shape) for r in turns])
    traj = _ps4_trajectory(tmp_path, centres, bonds_t, cell)
    res = AnionReorientation().run(traj).results
    assert res.n_units == len(centres) and set(vars(res)) == _documented(AnionReorientation)
    c = np.cos(omega * res.time)
    np.testing.assert_allclose(res.C1, 1 / 3 + 2 / 3 * c, atol=1e-9)
    uz2 = (bonds[..., 2] / PS) ** 2
    expected_c2 = [(1.5 * (uz2 + (1 - uz2) * ck) ** 2 - 0.5).mean() for ck in c]
    np.testing.assert_allclose(res.C2, expected_c2, atol=1e-9)


def test_anion_flips_are_counted_and_librations_are_not(tmp_path, rng):
    """Librating tetrahedra (≤ 8°); half of them turn once by 120° about one P–S bond (a
    symmetry operation: three S change vertices). Flip rate, flipped fraction f and the long-lag
    C_1 = (1 − f)·1 + f·(¼ − ¾·⅓) = 1 − f follow (to within the libration)."""
    from scipy.spatial.transform import Rotation

    from ionscope.analysis.dynamics import AnionReorientation

    centres, bonds, cell = _ps4_units(rng)
    n_units, n_frames, jump = len(centres), 120, 60
    flipping = np.arange(n_units) % 2 == 0
    bonds_t = np.repeat(bonds[None], n_frames, axis=0)
    for u in np.flatnonzero(flipping):
        c3 = Rotation.from_rotvec(bonds[u, 0] / PS * 2 * np.pi / 3)
        bonds_t[jump:, u] = c3.apply(bonds[u])
    wobble = Rotation.from_rotvec(rng.normal(0, np.radians(3), (n_frames * n_units, 3))
                                  .clip(-np.radians(8), np.radians(8)))
    flat = bonds_t.reshape(n_frames * n_units, 4, 3)
    bonds_t = np.stack([w.apply(b) for w, b in zip(wobble, flat)]).reshape(bonds_t.shape)
    res = AnionReorientation().run(_ps4_trajectory(tmp_path, centres, bonds_t, cell)).results
    assert res.flipped_units == pytest.approx(flipping.mean())
    assert res.flips_per_unit_per_ps == pytest.approx(flipping.sum() / (n_units * (n_frames - 1) * DT))
    f = flipping.mean()
    assert res.C1[-1] == pytest.approx(1 - f, abs=0.02)             # one origin across the jump
    assert res.reoriented[-1] == pytest.approx(0.75 * f)
    assert res.reoriented[0] < 0.01


def test_anion_reorientation_names_the_file_when_no_unit_is_found(tmp_path, rng):
    """A trajectory without PS4 units: a clear error naming the file; the study's analysis step
    records nothing for it instead of failing (a Li4P2S6 crystal has P2S6 units only)."""
    from ionscope.analysis.dynamics import AnionReorientation, NoUnitsError
    from ionscope.workflow.study_steps import _ps4_reorientation

    pos, sym = random_walk(rng, n_li=4, n_s=2, n_frames=10)
    traj = write_h5(tmp_path / "w.h5", pos, sym)
    with pytest.raises(NoUnitsError, match=r"w\.h5: no P with 4 S within 2\.6 Å"):
        AnionReorientation().run(traj)
    assert _ps4_reorientation(traj, tmp_path, span=0.1) == {}
