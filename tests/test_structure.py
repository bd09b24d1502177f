"""Structure analysis against analytic results and peer libraries (freud, ASE, scipy, pymatgen)."""

from __future__ import annotations

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk
from ase.io import read

from ionscope.analysis.structure import (
    BOND_COUNTS, ENVIRONMENT_KEYS, NEUTRON_B, RDF, AnionSpeciation, BondAngles, BondEnvironments,
    DirectStructureFactor, PairEntropy, Steinhardt, VoronoiVolume, bond_counts, classify_units,
    composition_profile, coordination_numbers, crystallinity, order_profile, structure_factors,
    voronoi_volumes, xray_form_factor, xrd_pattern)
from ionscope.analysis.base import ResultsNotComputedError
from ionscope.analysis.structure.structure_factor import partial_structure_factors


def ideal_gas(rng, n=3000, length=30.0, symbols=("Li", "S")):
    sym = np.array([symbols[k % len(symbols)] for k in range(n)])
    return Atoms(symbols=sym, positions=rng.uniform(0, length, (n, 3)), cell=np.eye(3) * length,
                 pbc=True)


def test_ideal_gas_rdf_is_one(rng):
    rdf = RDF(r_max=8.0, bins=40)
    for _ in range(10):
        rdf.compute(ideal_gas(rng), reset=False)
    for pair in (("Li", "Li"), ("Li", "S"), ("S", "S")):
        g = rdf.results.g[pair][10:]
        assert abs(g.mean() - 1.0) < 0.01
        assert np.abs(g - 1.0).max() < 0.08
    np.testing.assert_allclose(rdf.results.g_total[10:], 1.0, atol=0.04)
    # running coordination of an ideal gas: n(r) = ρ_j 4π r³/3
    rho_s = 1500 / 30.0 ** 3
    r_edge = rdf.results.edges[1:]
    np.testing.assert_allclose(rdf.results.n[("Li", "S")][-1], rho_s * 4 / 3 * np.pi * r_edge[-1] ** 3,
                               rtol=0.02)


def test_beta_li3ps4_coordination_is_analytic(beta_cif):
    crystal = read(beta_cif)
    rdf = RDF(r_max=6.0, bins=600).compute(crystal)
    at = np.searchsorted(rdf.results.r, 2.6)
    assert rdf.results.n[("P", "S")][at] == pytest.approx(4.0)  # PS4 tetrahedra
    assert rdf.results.n[("S", "S")][np.searchsorted(rdf.results.r, 2.0)] == 0.0
    # every P has exactly four S within 2.6 Å; every S exactly one P
    np.testing.assert_array_equal(coordination_numbers(crystal, "P", "S", 2.6), 4)
    np.testing.assert_array_equal(coordination_numbers(crystal, "S", "P", 2.6), 1)
    p_s = rdf.results.r[np.argmax(rdf.results.g[("P", "S")])]
    assert 2.0 < p_s < 2.1


def test_coordination_matches_ase_neighbour_list(glass_atoms):
    from ase.neighborlist import neighbor_list

    i, j = neighbor_list("ij", glass_atoms, 3.0)
    sym = np.array(glass_atoms.get_chemical_symbols())
    expected = np.bincount(i[sym[j] == "S"], minlength=len(sym))[sym == "Li"]
    np.testing.assert_array_equal(coordination_numbers(glass_atoms, "Li", "S", 3.0), expected)


def test_rdf_matches_freud(glass_atoms):
    freud = pytest.importorskip("freud")
    from ionscope.io.frame import lammps_form

    rdf = RDF(r_max=8.0, bins=80).compute(glass_atoms)
    lower, rot = lammps_form(glass_atoms.cell.array)
    box = freud.box.Box.from_matrix(lower.T)
    sym = np.array(glass_atoms.get_chemical_symbols())
    pos = box.wrap((glass_atoms.positions @ rot).astype(np.float64))
    for a, b in (("P", "S"), ("Li", "S"), ("S", "S")):
        # freud's finite-size mode is the N(N-1) normaliser of like pairs; unlike pairs are exact
        mode = "finite_size" if a == b else "exact"
        ref = freud.density.RDF(bins=80, r_max=8.0, normalization_mode=mode)
        ref.compute((box, pos[sym == b]), query_points=None if a == b else pos[sym == a])
        np.testing.assert_allclose(rdf.results.g[(a, b)], ref.rdf, rtol=1e-4, atol=1e-4)


def test_structure_factor_against_direct_debye_sum(rng):
    """Faber–Ziman S(Q) from g(r) equals the Debye double sum over pairs minus the uniform
    continuum term (evaluated independently by quadrature), with the same window. With the
    N(N−1) normaliser of like pairs the pair sum is divided by N − 1."""
    from scipy.integrate import quad

    from ionscope.analysis.base import as_snapshot, neighbor_pairs

    atoms = ideal_gas(rng, n=400, length=14.0, symbols=("S",))
    atoms.positions[:200] = atoms.positions[200:] + rng.normal(0, 0.3, (200, 3))  # some structure
    r_max, bins = 7.0, 1400
    rdf = RDF(r_max=r_max, bins=bins).compute(atoms)
    q = np.array([1.0, 2.0, 3.5])
    s = partial_structure_factors(rdf.results.r, rdf.results.g, rdf.results.density, q)[("S", "S")]
    _, _, d = neighbor_pairs(as_snapshot(atoms), r_max, "ijd")
    n = len(atoms)
    rho = n / atoms.get_volume()
    for k, qq in enumerate(q):
        debye = 1 + np.sum(np.sinc(qq * d / np.pi) * np.sinc(d / r_max)) / (n - 1)
        continuum = 4 * np.pi * rho * quad(
            lambda r: r * r * np.sinc(qq * r / np.pi) * np.sinc(r / r_max), 0, r_max, limit=200)[0]
        assert s[k] == pytest.approx(debye - continuum, abs=1e-3)  # binning error only


def test_total_structure_factors(glass_atoms):
    rdf = RDF(r_max=8.5, bins=170).compute(glass_atoms)
    sq = structure_factors(rdf.results, q=np.linspace(0.5, 20, 400))
    assert sq.neutron.shape == sq.q.shape == sq.xray.shape
    assert set(sq.partial) == {("Li", "Li"), ("Li", "P"), ("Li", "S"), ("P", "P"), ("P", "S"), ("S", "S")}
    # oscillations about 1 that die out at large Q
    high, low = sq.q > 8, sq.q < 4
    for total in (sq.neutron, sq.xray):
        assert abs(total[high].mean() - 1.0) < 0.03
        assert np.abs(total[high] - 1).max() < np.abs(total[low] - 1).max()
    # one species: neutron and X-ray weighting reduce to the same partial
    single = RDF(r_max=6, bins=60).compute(Atoms("S" * 8, positions=np.random.default_rng(1).uniform(0, 8, (8, 3)),
                                                 cell=np.eye(3) * 8, pbc=True))
    one = structure_factors(single.results, q=np.array([1.0, 2.0]))
    np.testing.assert_allclose(one.neutron, one.partial[("S", "S")])
    np.testing.assert_allclose(one.xray, one.partial[("S", "S")])


def _reciprocal_vectors(cell, q_max):
    """Every reciprocal-lattice vector 0 < |q| ≤ q_max of ``cell`` (rows), by an explicit grid."""
    recip = 2 * np.pi * np.linalg.inv(cell).T
    m = int(q_max * max(np.linalg.norm(cell, axis=1)) / (2 * np.pi)) + 1
    hkl = np.stack(np.meshgrid(*[np.arange(-m, m + 1)] * 3, indexing="ij"), -1).reshape(-1, 3)
    q = hkl @ recip
    qn = np.linalg.norm(q, axis=1)
    keep = (qn > 0) & (qn <= q_max)
    return q[keep], qn[keep]


def test_direct_structure_factor_equals_an_explicit_sum_over_q_vectors(rng):
    """Triclinic two-species cell: each bin is the mean over its reciprocal vectors (both ±q) of
    the Faber–Ziman partials N Re(ρ_i ρ_j*)/(N_i N_j) + 1 − δ_ij N/N_i, here by a plain loop; a
    tiny memory budget forces the slab loop."""
    cell = np.array([[11.0, 0, 0], [1.5, 10.0, 0], [-0.7, 0.9, 12.0]])
    sym = np.array(["Li"] * 20 + ["S"] * 40)
    atoms = Atoms(symbols=sym, positions=rng.uniform(0, 10, (60, 3)), cell=cell, pbc=True)
    res = DirectStructureFactor(q_max=3.0, bin_width=0.1, memory_mb=0.01).compute(atoms).results
    q, qn = _reciprocal_vectors(cell, 3.0)
    bins = (qn / 0.1).astype(int)
    rho = {s: np.exp(1j * atoms.positions[sym == s] @ q.T).sum(axis=0) for s in ("Li", "S")}
    n = {"Li": 20, "S": 40}
    occupied = np.unique(bins)
    np.testing.assert_allclose(res.q, [qn[bins == b].mean() for b in occupied], rtol=1e-12)
    np.testing.assert_allclose(res.n_vectors, [np.sum(bins == b) for b in occupied])
    for a, b in (("Li", "Li"), ("Li", "S"), ("S", "S")):
        per_q = 60 * (rho[a] * np.conj(rho[b])).real / (n[a] * n[b]) + 1 - (a == b) * 60 / n[a]
        expected = [per_q[bins == k].mean() for k in occupied]
        np.testing.assert_allclose(res.partial[(a, b)], expected, rtol=1e-9, atol=1e-9)
    # the neutron total is the Faber–Ziman normalisation of |Σ b e^{iq·r}|²
    bl = np.where(sym == "Li", NEUTRON_B["Li"], NEUTRON_B["S"])
    amp = np.abs(np.exp(1j * atoms.positions @ q.T).T @ bl) ** 2 / 60
    mean_b, mean_b2 = bl.mean(), (bl ** 2).mean()
    expected = [((amp[bins == k] - mean_b2) / mean_b ** 2 + 1).mean() for k in occupied]
    np.testing.assert_allclose(res.neutron, expected, rtol=1e-9)
    np.testing.assert_allclose(res.neutron_intensity, [amp[bins == k].mean() / mean_b2 for k in occupied],
                               rtol=1e-9)


def test_direct_structure_factor_of_a_cluster_is_the_debye_sum(rng):
    """A cluster in a large box: the shell average of |Σ e^{iq·r}|²/N over the box's reciprocal
    vectors is the orientational average, i.e. the Debye sum 1 + Σ_{a≠b} sin(Q r_ab)/(N Q r_ab)
    (evaluated at every vector's |q| and averaged in the same bins)."""
    from scipy.spatial.distance import pdist

    length, n = 40.0, 150
    pts = rng.normal(0, 1, (4 * n, 3))
    pts = pts[np.linalg.norm(pts, axis=1) < 2.0][:n] * 3.5 + length / 2   # a ball of radius 7 Å
    atoms = Atoms("S" * n, positions=pts, cell=np.eye(3) * length, pbc=True)
    res = DirectStructureFactor(q_max=4.0, bin_width=0.1).compute(atoms).results
    _, qn = _reciprocal_vectors(atoms.cell.array, 4.0)
    m2, mult = np.unique(np.rint((qn * length / (2 * np.pi)) ** 2).astype(int), return_counts=True)
    shell_q = 2 * np.pi / length * np.sqrt(m2)
    d = pdist(pts)
    debye = 1 + 2 * np.sinc(np.outer(shell_q, d) / np.pi).sum(axis=1) / n
    bins = (shell_q / 0.1).astype(int)
    expected = np.array([np.average(debye[bins == b], weights=mult[bins == b]) for b in np.unique(bins)])
    sel = res.q > 1.0                       # many vectors per bin: orientational sampling error small
    np.testing.assert_allclose(res.partial[("S", "S")][sel], expected[sel], atol=0.08)
    assert np.abs(res.partial[("S", "S")][sel] - expected[sel]).mean() < 0.02


def test_direct_and_g_of_r_routes_agree_and_low_q_is_physical(shared_data):
    """On the 255-atom glass AIMD cell (L ≈ 18 Å) the two routes agree above 4 Å⁻¹; below
    2π/r_max only the direct route holds: its I(Q)/(N⟨b²⟩) = |Σ b e^{iq·r}|²/(N⟨b²⟩) is ≥ 0,
    so the Faber–Ziman S(Q) stays above its Q → 0 floor 1 − ⟨b²⟩/⟨b⟩² (about −3.2 here)."""
    from ionscope.io import open_trajectory

    traj = open_trajectory(shared_data / "lips-dft" / "glass-iter0-002")
    direct = DirectStructureFactor(q_max=12.0).run(traj, step=8, progress=False).results
    rdf = RDF(r_max=8.5, bins=170).run(traj, step=8, progress=False).results
    via_g = structure_factors(rdf, q=direct.q)
    assert set(direct.partial) == set(via_g.partial)
    high = direct.q > 4.0
    assert np.sqrt(np.mean((direct.neutron[high] - via_g.neutron[high]) ** 2)) < 0.1
    assert np.sqrt(np.mean((direct.xray[high] - via_g.xray[high]) ** 2)) < 0.05
    c = direct.composition
    mean_b = sum(c[s] * NEUTRON_B[s] for s in c)
    floor = 1 - sum(c[s] * NEUTRON_B[s] ** 2 for s in c) / mean_b ** 2
    assert -3.3 < floor < -3.1
    assert np.all(direct.neutron_intensity >= 0) and np.all(direct.xray_intensity >= 0)
    assert np.all(direct.neutron >= floor - 1e-9)
    low = direct.q < 0.9                    # Li3PS4 glass: nearly incompressible, charge neutral
    assert np.all(direct.neutron_intensity[low] < 0.4)
    assert np.all(direct.neutron[low] < floor + 1.5)
    np.testing.assert_allclose(direct.neutron_intensity[high].mean(), 1.0, atol=0.05)
    assert direct.q.min() == pytest.approx(2 * np.pi / np.linalg.norm(traj[0].cell, axis=1).max(), rel=0.05)


def test_form_factors_at_zero_are_atomic_numbers():
    for sym, z in (("Li", 3), ("P", 15), ("S", 16)):
        assert xray_form_factor(sym, np.array([0.0]))[0] == pytest.approx(z, abs=0.01)


def test_bond_angles(beta_cif):
    crystal = read(beta_cif).repeat((1, 2, 2))
    ba = BondAngles([("S", "P", "S")], cutoffs={("P", "S"): 2.6}).compute(crystal)
    assert ba.results.count[("S", "P", "S")] == 6 * 16  # six angles per PS4, 16 P
    assert ba.results.mean[("S", "P", "S")] == pytest.approx(109.47, abs=0.1)
    assert 100 < ba.results.peak[("S", "P", "S")] < 115
    # ideal tetrahedron, and a B–A–C triplet with different arms
    t = np.array([[1, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1]]) * 1.2
    mol = Atoms("PS4", positions=np.vstack([[0, 0, 0], t]) + 10, cell=np.eye(3) * 20, pbc=True)
    mol.symbols[1] = "O"
    res = BondAngles([("S", "P", "S"), ("O", "P", "S")], default_cutoff=2.5).compute(mol).results
    np.testing.assert_allclose([res.mean[("S", "P", "S")], res.mean[("O", "P", "S")]],
                               np.degrees(np.arccos(-1 / 3)), atol=1e-6)
    assert res.count[("O", "P", "S")] == 3 and res.count[("S", "P", "S")] == 3


def _tetrahedron(centre, bond=2.05, rotate=0.0):
    t = np.array([[1, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1]]) / np.sqrt(3) * bond
    c, s = np.cos(rotate), np.sin(rotate)
    return centre + t @ np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])


def _molecules() -> Atoms:
    """One P2S7, one P2S6 (hypo, P–P bond), one PS4 and one free S, far apart in a 45 Å box."""
    # P2S7: two tetrahedra sharing one S corner (bridging S bonded to both P)
    p1 = np.array([10.0, 10.0, 10.0])
    t1 = _tetrahedron(p1)
    p2 = 2 * t1[0] - p1  # the second P mirrored through the bridging S
    pyro = np.vstack([p1, p2, t1, p2 - (t1[1:] - p1)])
    # P2S6 (hypo): P–P bond 2.2 Å, three S on each P
    q1, q2 = np.array([30.0, 30, 30]), np.array([32.2, 30, 30])
    hypo_s = [q1 + 2.05 * np.array([-0.34, np.cos(a), np.sin(a)]) / np.linalg.norm([-0.34, 1, 0])
              for a in (0, 2.1, 4.2)]
    hypo_s += [q2 + 2.05 * np.array([0.34, np.cos(a), np.sin(a)]) / np.linalg.norm([0.34, 1, 0])
               for a in (0.5, 2.6, 4.7)]
    ortho = np.vstack([[10.0, 30, 10], _tetrahedron(np.array([10.0, 30, 10]))])
    free_s = np.array([[30.0, 10, 10]])
    positions = np.vstack([pyro, q1, q2, hypo_s, ortho, free_s])
    symbols = ["P", "P"] + ["S"] * 7 + ["P", "P"] + ["S"] * 6 + ["P"] + ["S"] * 4 + ["S"]
    return Atoms(symbols=symbols, positions=positions, cell=np.eye(3) * 45, pbc=True)


def test_speciation_of_crystals_and_molecules(shared_data):
    for name in ("beta-Li3PS4", "gamma-Li3PS4"):
        out = classify_units(read(shared_data / "crystals" / f"{name}.cif"))
        assert out["p_fraction"]["PS4"] == 1.0
        assert out["units"]["other"] == 0
    box = _molecules()
    out = classify_units(box)
    assert out["units"] == {"PS4": 1, "P2S7": 1, "P2S6": 1, "other": 0}
    assert out["p_fraction"]["P2S7"] == pytest.approx(0.4)
    assert out["labels"][-1] == "S2-"
    # an under-coordinated P is reported as 'other' with its formula, never forced into a class
    broken = box[[i for i in range(len(box)) if i != 18]]  # drop one S of the PS4 unit
    out = classify_units(broken)
    assert out["units"]["other"] == 1 and out["other_formulas"] == {"P1S3": 1}


def test_bond_counts_per_p_are_those_of_the_molecules_built():
    box = _molecules() + Atoms("S2Li", positions=[[40, 40, 10], [42.05, 40, 10], [20, 20, 40]])
    # 5 P: 1 bridging S (P2S7), 1 S–S (the S2 dimer), 1 P–P (P2S6), 3 S on no P (free S and the
    # dimer), 2 P with three S (P2S6)
    counts = dict(zip(BOND_COUNTS, bond_counts(box)))
    assert counts == pytest.approx({"bridging S": 1 / 5, "S–S": 1 / 5, "P–P": 1 / 5,
                                    "S without P": 3 / 5, "P with < 4 S": 2 / 5})
    broken = box[[i for i in range(len(box)) if i != 18]]   # one S off the PS4: 3 P below 4 S
    env = BondEnvironments()
    env.compute(box)
    env.compute(broken, reset=False)
    r = env.results
    assert r.per_frame.shape == (2, len(ENVIRONMENT_KEYS)) and r.quantities == list(ENVIRONMENT_KEYS)
    k = ENVIRONMENT_KEYS.index("P_under_4S")
    assert r.per_frame[:, k] == pytest.approx([2 / 5, 3 / 5])
    assert (r.minimum[k], r.maximum[k], r.mean[k]) == pytest.approx((2 / 5, 3 / 5, 1 / 2))
    densities = [a.get_masses().sum() / a.get_volume() * 1.66053906660 for a in (box, broken)]
    assert r.per_frame[:, 0] == pytest.approx(densities)
    assert r.per_frame[0, 1:5] == pytest.approx([1 / 5, 2 / 5, 2 / 5, 0])   # PS4 P2S7 P2S6 other
    with pytest.raises(ValueError, match="need P atoms"):
        bond_counts(Atoms("S2", positions=[[0, 0, 0], [2, 0, 0]], cell=np.eye(3) * 10, pbc=True))


def test_speciation_over_a_trajectory(shared_data):
    from ionscope.io import open_trajectory

    traj = open_trajectory(shared_data / "lips-dft" / "glass-iter0-002")
    spec = AnionSpeciation().run(traj, stop=20, progress=False)
    assert spec.results.p_fraction.shape == (20, 4)
    np.testing.assert_allclose(spec.results.p_fraction.sum(axis=1), 1.0)
    assert spec.results.mean_p_fraction["PS4"] > 0.5


def _fcc(a=4.0, rep=4):
    return bulk("Cu", "fcc", a=a, cubic=True).repeat(rep)


def _bcc(a=3.0, rep=5):
    return bulk("Fe", "bcc", a=a, cubic=True).repeat(rep)


def test_q6_of_fcc_and_bcc_are_analytic():
    fcc = Steinhardt(l=[4, 6], num_neighbors=12, wl=True).compute(_fcc()).results
    np.testing.assert_allclose(fcc.ql[6], 0.57452, atol=1e-4)
    np.testing.assert_allclose(fcc.ql[4], 0.19094, atol=1e-4)
    np.testing.assert_allclose(fcc.wl[6], -0.013161, atol=1e-5)
    bcc = Steinhardt(l=6, num_neighbors=14).compute(_bcc()).results
    np.testing.assert_allclose(bcc.ql[6], 0.51069, atol=1e-4)
    bcc8 = Steinhardt(l=6, r_cut=2.7).compute(_bcc()).results
    np.testing.assert_allclose(bcc8.ql[6], 0.62854, atol=1e-4)


@pytest.mark.parametrize("mode", ["cutoff", "average", "wl", "voronoi"])
def test_steinhardt_matches_freud(glass_atoms, mode):
    freud = pytest.importorskip("freud")
    from ionscope.io.frame import lammps_form

    s_atoms = glass_atoms[[a.index for a in glass_atoms if a.symbol == "S"]]
    lower, rot = lammps_form(s_atoms.cell.array)
    box = freud.box.Box.from_matrix(lower.T)
    pts = box.wrap(s_atoms.positions @ rot)
    if mode == "voronoi":
        ours = Steinhardt(l=6, voronoi=True, weighted=True).compute(s_atoms).results.ql[6]
        voro = freud.locality.Voronoi()
        voro.compute((box, pts))
        ref = freud.order.Steinhardt(6, weighted=True)
        ref.compute((box, pts), neighbors=voro.nlist)
        np.testing.assert_allclose(ours, ref.particle_order, atol=1e-4)
        return
    kw = {"average": mode == "average", "wl": mode == "wl"}
    res = Steinhardt(l=6, r_cut=4.8, wl=mode == "wl", average=mode == "average").compute(s_atoms).results
    ref = freud.order.Steinhardt(6, wl_normalize=True, **kw)
    ref.compute((box, pts), neighbors={"r_max": 4.8, "exclude_ii": True})
    ours = res.qbar[6] if mode == "average" else res.wl[6] if mode == "wl" else res.ql[6]
    np.testing.assert_allclose(ours, ref.particle_order, atol=1e-5)


def test_voronoi_volumes_against_scipy(glass_atoms, rng):
    """Periodic Voronoi volumes from freud/voro++ equal scipy/Qhull on a 3×3×3 replica."""
    from scipy.spatial import ConvexHull, Voronoi

    atoms = Atoms("S" * 40, positions=rng.uniform(0, 9, (40, 3)),
                  cell=[[9, 0, 0], [1.5, 9, 0], [0.5, -1, 9]], pbc=True)
    ours = voronoi_volumes(atoms.positions, atoms.cell.array)
    shifts = np.array([(a, b, c) for a in (-1, 0, 1) for b in (-1, 0, 1) for c in (-1, 0, 1)])
    replica = (atoms.get_scaled_positions()[None] + shifts[:, None]).reshape(-1, 3) @ atoms.cell.array
    vor = Voronoi(replica)
    centre = np.flatnonzero((shifts == 0).all(1))[0] * 40
    ref = [ConvexHull(vor.vertices[vor.regions[vor.point_region[centre + k]]]).volume for k in range(40)]
    np.testing.assert_allclose(ours, ref, rtol=1e-4)
    assert ours.sum() == pytest.approx(atoms.get_volume(), rel=1e-6)
    vv = VoronoiVolume().compute(glass_atoms).results
    assert vv.volumes.sum() == pytest.approx(glass_atoms.get_volume(), rel=1e-6)
    assert vv.mean["P"] < vv.mean["S"]


def _glass_ceramic(beta_cif, rng, frac_amorphous=0.5):
    crystal = read(beta_cif).repeat((2, 3, 4))  # c axis ~24.5 Å
    scaled = crystal.get_scaled_positions()
    lo, hi = 0.5 - frac_amorphous / 2, 0.5 + frac_amorphous / 2
    inside = (scaled[:, 2] > lo) & (scaled[:, 2] < hi)
    scaled[inside] = np.c_[rng.uniform(0, 1, (inside.sum(), 2)), rng.uniform(lo, hi, inside.sum())]
    crystal.set_scaled_positions(scaled)
    return crystal, lo * crystal.cell[2, 2], hi * crystal.cell[2, 2]


def test_order_profile_finds_the_interfaces(beta_cif, rng):
    gc, z1, z2 = _glass_ceramic(beta_cif, rng)
    prof = order_profile(gc, axis=2, slab=3.0, step=0.25)
    crystal = (prof.z < z1 - 2.5) | (prof.z > z2 + 2.5)
    glass = (prof.z > z1 + 2.5) & (prof.z < z2 - 2.5)
    assert prof.F[crystal].min() > 0.5
    assert prof.F[glass].max() < 0.25
    found = np.sort(prof.interfaces)
    np.testing.assert_allclose(found, [z1, z2], atol=1.5)
    assert np.all(prof.interface_widths > 0) and np.all(prof.interface_widths < 8)
    np.testing.assert_allclose(prof.amorphization, 1 - prof.F)


def test_composition_profile_conserves_mass(beta_cif):
    crystal = read(beta_cif).repeat((1, 1, 3))
    prof = composition_profile(crystal, axis=2, bin_width=0.5)
    total = sum(d.sum() for d in prof.number_density.values())
    bin_volume = crystal.get_volume() / len(prof.z)
    assert total * bin_volume == pytest.approx(len(crystal))
    density = crystal.get_masses().sum() / crystal.get_volume() * 1.66053906660
    assert prof.mass_density.mean() == pytest.approx(density)


def test_pair_entropy_ordered_below_disordered(rng):
    fcc = _fcc(a=4.0, rep=3)
    s_fcc = PairEntropy(sigma=0.2, r_max=5.0).compute(fcc).results.entropy
    np.testing.assert_allclose(s_fcc, s_fcc[0], atol=1e-8)  # identical environments
    melt = fcc.copy()
    melt.positions += rng.normal(0, 0.6, melt.positions.shape)
    s_melt = PairEntropy(sigma=0.2, r_max=5.0, r_average=3.5).compute(melt).results
    assert s_fcc.mean() < s_melt.entropy.mean() - 1.0
    assert s_melt.entropy_avg.std() < s_melt.entropy.std()


def test_pair_entropy_against_quadrature():
    """Perfect fcc: g_m(r) is a sum of Gaussian shells; integrate it independently with quad."""
    from scipy.integrate import quad

    a, sigma, r_max = 4.0, 0.2, 5.0
    fcc = _fcc(a=a, rep=3)
    rho = 4 / a ** 3
    from ase.neighborlist import neighbor_list

    i, d = neighbor_list("id", fcc, r_max + 5 * sigma)
    shells: dict[float, int] = {}
    for value in np.round(d[i == 0], 6):
        shells[value] = shells.get(value, 0) + 1

    def g(r):
        total = sum(n * np.exp(-(r - rk) ** 2 / (2 * sigma ** 2)) for rk, n in shells.items())
        return total / (np.sqrt(2 * np.pi) * sigma * 4 * np.pi * rho * r * r)

    def integrand(r):
        gr = g(r)
        return ((gr * np.log(gr) if gr > 0 else 0.0) - gr + 1) * r * r

    points = sorted(shells)
    ref = -2 * np.pi * rho * quad(integrand, 1e-3, r_max, points=points, limit=400)[0]
    ours = PairEntropy(sigma=sigma, r_max=r_max, dr=0.005).compute(fcc).results.entropy[0]
    assert ours == pytest.approx(ref, rel=5e-3)


def test_xrd_peaks_match_pymatgen(beta_cif):
    """Peak positions and relative integrated intensities agree with pymatgen's XRDCalculator."""
    pmg = pytest.importorskip("pymatgen.analysis.diffraction.xrd")
    from pymatgen.io.ase import AseAtomsAdaptor

    crystal = read(beta_cif)
    ours = xrd_pattern(crystal, two_theta=(10, 50), step=0.005, fwhm=0.03)
    ref = pmg.XRDCalculator(wavelength="CuKa1").get_pattern(
        AseAtomsAdaptor.get_structure(crystal), two_theta_range=(10, 50))
    strongest = ref.x[np.argsort(ref.y)[::-1][:8]]
    ours_area, ref_area = [], []
    for tt in strongest:
        window = np.abs(ours.two_theta - tt) < 0.1
        peak = ours.two_theta[window][np.argmax(ours.intensity[window])]
        assert peak == pytest.approx(tt, abs=0.02)
        ours_area.append(ours.intensity[window].sum())
        ref_area.append(ref.y[np.abs(ref.x - tt) < 0.1].sum())
    np.testing.assert_allclose(np.array(ours_area) / max(ours_area), np.array(ref_area) / max(ref_area),
                               atol=0.05)


def test_crystallinity_separates_crystal_from_glass(beta_cif, glass_atoms):
    crystal = xrd_pattern(read(beta_cif).repeat((1, 2, 2)))
    glass = xrd_pattern(glass_atoms)
    assert crystallinity(crystal.two_theta, crystal.intensity).crystallinity > 0.8
    assert crystallinity(glass.two_theta, glass.intensity).crystallinity < 0.3


def test_structure_analysis_uses_the_direct_sq_and_keeps_the_g_of_r_route(glass_atoms, tmp_path):
    from ionscope.workflow.structure import analyse_structure

    direct = analyse_structure(glass_atoms, "direct", tmp_path)
    via_g = analyse_structure(glass_atoms, "via-g", tmp_path, sq_method="g(r)")
    assert direct["sq_method"] == "direct" and via_g["sq_method"] == "g(r)"
    sq = np.genfromtxt(tmp_path / "direct" / "sq.csv", delimiter=",", names=True)
    assert {"Q", "S_neutron", "S_xray", "I_neutron", "I_xray", "S_LiS"} <= set(sq.dtype.names)
    assert sq["Q"].min() < 2 * np.pi / 8.0 and np.all(sq["I_neutron"] >= 0)
    assert np.genfromtxt(tmp_path / "via-g" / "sq.csv", delimiter=",", names=True)["Q"].min() == \
        pytest.approx(2 * np.pi / 8.0)
    with pytest.raises(ValueError, match="sq_method"):
        analyse_structure(glass_atoms, "bad", tmp_path, sq_method="debye")


def test_headline_numbers_do_not_move_with_r_max(glass_atoms, tmp_path):
    """A fixed bin width: r_max 10 vs 40 Å gives the same P–S bond and Li–S coordination (with
    200 fixed bins the bins were 0.05 vs 0.2 Å wide and both numbers moved)."""
    from ionscope.workflow.structure import analyse_structure

    near = analyse_structure(glass_atoms, "near", tmp_path, r_max=10.0)
    far = analyse_structure(glass_atoms, "far", tmp_path, r_max=40.0)
    for key in ("p_s_bond_length_A", "li_s_coordination"):
        assert near[key] == pytest.approx(far[key], abs=1e-12), key
    # and they are the exact neighbour counts and distances of the frame
    from ase.neighborlist import neighbor_list

    i, j, d = neighbor_list("ijd", glass_atoms, 3.0)
    sym = np.array(glass_atoms.get_chemical_symbols())
    li_s = (sym[i] == "Li") & (sym[j] == "S")
    assert far["li_s_coordination"] == pytest.approx(li_s.sum() / (sym == "Li").sum(), abs=1e-12)
    p_s = (sym[i] == "P") & (sym[j] == "S") & (d <= 2.6)
    assert far["p_s_bond_length_A"] == pytest.approx(d[p_s].mean(), abs=0.01)  # half a bin


def test_rdf_bin_width_and_bins():
    rdf = RDF(r_max=8.0)
    np.testing.assert_allclose(np.diff(rdf.edges), 0.02)
    assert rdf.bins == 400 and rdf.r_max == pytest.approx(8.0)
    assert RDF(r_max=8.005, dr=0.02).r_max == pytest.approx(8.02)     # whole bins
    assert RDF(r_max=6.0, bins=30).dr == pytest.approx(0.2)
    for bad in ({"r_max": float("nan")}, {"r_max": 5.0, "dr": 0.0}, {"r_max": -1.0}):
        with pytest.raises(ValueError):
            RDF(**bad)


def test_averaged_steinhardt_with_other_neighbour_species_matches_freud(glass_atoms):
    """q̄_l of P centres with S neighbours averages the S atoms' own q_lm (from their S
    neighbours), as freud does with the same neighbour list; not q_l/(N+1)."""
    freud = pytest.importorskip("freud")
    from ase.neighborlist import neighbor_list

    from ionscope.io.frame import lammps_form

    ps = glass_atoms[[a.index for a in glass_atoms if a.symbol in ("P", "S")]]
    sym = np.array(ps.get_chemical_symbols())
    res = Steinhardt(l=6, r_cut=4.0, average=True, species="P", neighbor_species="S").compute(ps).results
    plain = Steinhardt(l=6, r_cut=4.0, species="P", neighbor_species="S").compute(ps).results
    np.testing.assert_allclose(res.ql[6], plain.ql[6])
    assert not np.allclose(res.qbar[6], res.ql[6] / (res.num_neighbors + 1))
    i, j, vec = neighbor_list("ijD", ps, 4.0)
    keep = sym[j] == "S"                     # every atom's bonds to S: P→S and S→S
    lower, rot = lammps_form(ps.cell.array)
    box = freud.box.Box.from_matrix(lower.T)
    pts = box.wrap(ps.positions @ rot)
    nlist = freud.locality.NeighborList.from_arrays(len(ps), len(ps), i[keep], j[keep], vec[keep] @ rot)
    ref = freud.order.Steinhardt(6, average=True)
    ref.compute((box, pts), neighbors=nlist)
    np.testing.assert_allclose(res.qbar[6], ref.particle_order[sym == "P"], atol=1e-5)


def test_frame_analysis_results_are_guarded_until_computed(rng):
    """Structure analyses share the guard of the dynamics ones: no results before ``compute``,
    none left over from an earlier compute when the latest one failed."""
    rdf = RDF(r_max=4.0, bins=8)
    with pytest.raises(ResultsNotComputedError, match=r"RDF\.results: nothing computed yet; call compute"):
        rdf.results
    rdf.compute(ideal_gas(rng, n=200, length=10.0))
    assert rdf.results.g[("Li", "S")].shape == (8,)
    with pytest.raises(ValueError, match="fully periodic"):
        rdf.compute(Atoms("Li2", positions=[[0, 0, 0], [1, 1, 1]], cell=np.eye(3) * 5, pbc=False))
    with pytest.raises(ResultsNotComputedError):
        rdf.results
    # accumulating: a refused structure keeps the frames added so far
    rdf.compute(ideal_gas(rng, n=200, length=10.0))
    rdf.compute(ideal_gas(rng, n=200, length=10.0), reset=False)
    with pytest.raises(ValueError, match="fully periodic"):
        rdf.compute(Atoms("Li2", positions=[[0, 0, 0], [1, 1, 1]], cell=np.eye(3) * 5, pbc=False),
                    reset=False)
    assert rdf.n_frames == 2 and rdf.results.g[("Li", "S")].shape == (8,)
