"""The report's literature table: verdicts against published ranges and orderings."""

from ionscope.report.literature import compare, transport_basis
from ionscope.report.summaries import (AnalysisSummary, SoftnessModelSummary, StructureSummary,
                                       StudyResults, SystemResults, TransportSummary)
from ionscope.workflow.study import Study

STUDY = Study.model_validate({
    "name": "lit", "md": {"temperatures": [600, 800], "production_ps": 10},
    "systems": [{"name": "beta", "kind": "crystal", "crystal": "beta-Li3PS4", "atoms": 96},
                {"name": "glass", "kind": "glass", "composition": "75Li2S-25P2S5", "atoms": 96},
                {"name": "gc", "kind": "glass-ceramic", "crystal": "beta-Li3PS4", "atoms": 192}]})


def system(name, kind, bond, ps4, ea, ea_err, sigma, sigma_err):
    st = StructureSummary.model_construct(p_s_bond_length_A=bond, li_s_coordination=4.0,
                                          sps_angle_peak_deg=109.0,
                                          anion_p_fractions={"PS4": ps4, "P2S7": 1 - ps4})
    tr = TransportSummary.model_construct(Ea_eV=ea, Ea_err_eV=ea_err,
                                          sigma_extrapolated_S_cm=sigma,
                                          sigma_extrapolated_err_S_cm=sigma_err, T_K=[],
                                          sigma_S_cm=[])
    return SystemResults(name=name, kind=kind, transport=tr,
                         analyses={600.0: AnalysisSummary.model_construct(structure=st)})


def rows(results):
    return {(r.quantity, r.system): r for r in compare(results, STUDY)}


def test_ranges_orderings_and_softness_get_their_verdicts():
    results = StudyResults(systems={
        "beta": system("beta", "crystal", 2.07, 1.0, 0.36, 0.02, 1e-4, 2e-5),
        "glass": system("glass", "glass", 2.13, 0.3, 0.24, 0.01, 5e-4, 1e-4),
        "gc": system("gc", "glass-ceramic", 2.08, 0.6, 0.25, 0.02, 6e-4, 2e-4)},
        softness_model=SoftnessModelSummary.model_construct(
            test_accuracy=0.70, n_test=400, test_by_system={
                "beta": {"balanced_accuracy": 0.55, "n": 250},
                "glass": {"balanced_accuracy": 0.81, "n": 150},
                "gc": {"balanced_accuracy": None, "n": 0}}))   # no held-out Li of both classes
    r = rows(results)
    assert r[("P–S bond length", "beta")].verdict == "agrees"
    assert r[("P–S bond length", "glass")].verdict == "higher"           # 2.13 > 2.10, no error
    assert r[("PS4 fraction of P", "glass")].verdict == "lower"
    assert ("PS4 fraction of P", "beta") not in r                        # a glass-only range
    assert r[("E_a", "beta")].verdict == "agrees" and r[("E_a", "glass")].verdict == "agrees"
    assert r[("E_a(β) > E_a(glass)", "beta vs glass")].verdict == "holds"
    assert r[("σ_glass(300 K) > σ_β", "glass vs beta")].verdict == "holds"
    assert r[("σ_glass-ceramic(300 K) ≥ σ_glass", "gc vs glass")].verdict == "within errors"
    soft = r[("softness held-out accuracy", "all")]
    assert soft.verdict == "lower" and soft.ionscope.startswith("0.7 ± 0.023")
    # the pooled accuracy beside what the hyperplane does inside each system
    assert soft.context == ("within each system, balanced (chance 0.5): beta 0.55 (n = 250), "
                            "glass 0.81 (n = 150)")


def test_the_demo_finding_reads_opposite_and_missing_fits_read_not_measured():
    results = StudyResults(systems={
        "beta": system("beta", "crystal", 2.07, 1.0, 0.23, 0.03, 9.6e-3, 1e-3),
        "glass": system("glass", "glass", 2.08, 0.9, None, None, None, None)})
    r = rows(results)
    assert r[("E_a", "beta")].verdict == "lower"                         # 0.23 ± 0.03 below 0.30
    assert r[("E_a", "glass")].verdict == "not measured"
    assert r[("σ_glass(300 K) > σ_β", "glass vs beta")].verdict == "not measured"
    results.systems["glass"] = system("glass", "glass", 2.08, 0.9, 0.37, 0.03, 3.4e-4, 5e-5)
    r = rows(results)
    assert r[("E_a(β) > E_a(glass)", "beta vs glass")].verdict == "opposite"
    assert r[("σ_glass(300 K) > σ_β", "glass vs beta")].verdict == "opposite"
    assert r[("softness held-out accuracy", "all")].verdict == "not measured"


def measured(name, kind, T, D, D_err, diffusive, ea, ea_err, sigma, deviation):
    """A system with the per-temperature transport and committee deviation of a real run."""
    sig = [d * 1e5 for d in D]
    tr = TransportSummary.model_construct(
        T_K=T, D_cm2_s=D, D_err_cm2_s=D_err, sigma_S_cm=sig, diffusive=diffusive,
        fit_T_K=[t for t, ok in zip(T, diffusive) if ok], fit_warning=None, Ea_eV=ea,
        Ea_err_eV=ea_err, sigma_extrapolated_S_cm=sigma, sigma_extrapolated_err_S_cm=sigma / 5)
    return SystemResults(name=name, kind=kind, transport=tr, analyses={
        t: AnalysisSummary.model_construct(committee_max_devi_f_eV_A=v, ps4_flipped_fraction=t / 1000 - 0.5,
                                           committee_untrusted_fraction={"Li": 0.0, "S": v / 20})
        for t, v in zip(T, deviation)})


def test_orderings_and_transport_basis_show_what_a_verdict_rests_on():
    """β faster than the glass at every simulated temperature but with the lower E_a: the σ(300 K)
    ordering is decided by extrapolation, which the context and the basis table must show."""
    T = [500.0, 600.0, 700.0, 800.0]
    beta = measured("beta", "crystal", T, [4e-7, 8e-6, 2e-5, 3e-5], [5e-8, 4e-7, 1e-6, 1.5e-6],
                    [False, True, True, True], 0.24, 0.01, 1e-2, [0.2, 0.22, 0.25, 0.3])
    glass = measured("glass", "glass", T, [2e-7, 1e-6, 4e-6, 1e-5], [2e-8, 1e-7, 4e-7, 1e-6],
                     [True, True, True, True], 0.30, 0.02, 2e-3, [0.25, 0.3, 0.35, 0.4])
    results = StudyResults(systems={"beta": beta, "glass": glass})
    r = rows(results)
    sigma = r[("σ_glass(300 K) > σ_β", "glass vs beta")]
    assert sigma.verdict == "opposite"
    assert sigma.context.startswith("ratio 0.2, -3.9 σ")               # 2e-3/1e-2; 8e-3/2.04e-3
    assert "measured σ_NE ratio at 500 K: 0.5, 600 K: 0.12, 700 K: 0.2, 800 K: 0.33" in sigma.context
    ea = r[("E_a(β) > E_a(glass)", "beta vs glass")]
    assert ea.verdict == "opposite" and ea.context == "difference -0.06 eV, -2.7 σ"
    basis = {b["system"]: b for b in transport_basis(results, STUDY)}
    assert basis["beta"]["fitted (K)"] == "600, 700, 800"
    assert basis["beta"]["left out, sub-diffusive (K)"] == "500"
    assert basis["glass"]["left out, sub-diffusive (K)"] == "none"
    # (1/300 − 1/600) / (1/600 − 1/800) = 4: σ(300 K) lies four fitted ranges beyond the data
    assert basis["beta"]["extrapolation to 300 K (× fitted 1/T range)"] == "4"
    assert basis["beta"]["D relative error (%)"] == "5–5"
    assert basis["beta"]["committee force deviation (eV/Å)"] == "0.22–0.30"
    assert basis["glass"]["E_a relative error (%)"] == "6.67"
    assert basis["beta"]["atoms beyond the committee's trust level (worst species)"] == (
        "600 K: S 1.1 %, 700 K: S 1.2 %, 800 K: S 1.5 %")
    assert basis["beta"]["PS4 units flipped in the run"] == (
        "500 K: 0.00, 600 K: 0.10, 700 K: 0.20, 800 K: 0.30")
    assert basis["beta"]["structure outside its DFT frames' range"] == "–"      # no DFT reference


def test_structure_against_dft_frames_reads_the_dft_range_with_two_standard_errors():
    from ionscope.report.literature import _outside_dft, dft_reference_rows
    from ionscope.report.summaries import DFTReferenceSummary

    def stats(study, err, lo, hi):
        return {"study": study, "study_err": err, "dft_mean": (lo + hi) / 2, "dft_std": (hi - lo) / 4,
                "dft_min": lo, "dft_max": hi}

    ref = DFTReferenceSummary(system="glass", T=500, label="PBE-D3 glass frames", study_formula="Li288P96S384",
                              dft_formulas=["Li91P35S129"], study_frames=50,
                              dft_frames=159, quantities={
                                  "PS4": stats(0.42, 0.01, 0.57, 0.71),       # 0.44 < 0.57: lower
                                  "P2S7": stats(0.16, 0.01, 0.0, 0.17),       # inside
                                  "S_S": stats(0.05, 0.01, 0.0, 0.029),       # 0.05 − 0.02 ≥ 0.029: higher
                                  "P_P": stats(0.08, 0.01, 0.086, 0.114)})    # within 2σ of the range
    results = StudyResults(systems={"glass": SystemResults(name="glass", kind="glass", dft_reference=ref),
                                    "beta": SystemResults(name="beta", kind="crystal")})
    rows = dft_reference_rows(results)
    assert [r["verdict"] for r in rows] == ["lower", "agrees", "higher", "agrees"]
    assert {r["system"] for r in rows} == {"glass"} and rows[2]["quantity"] == "S–S bonds per P"
    assert rows[0]["DFT frames are"] == "PBE-D3 glass frames (Li91P35S129; the MD: Li288P96S384)"
    assert "range 0.57–0.71, 159 frames" in rows[0]["DFT frames"] and "500 K, 50 frames" in rows[0]["MD"]
    assert _outside_dft(results.systems["glass"]) == ("fraction of P in PS4 0.42 vs 0.57–0.71; "
                                                      "S–S bonds per P 0.05 vs 0–0.029")
