"""The report's literature table: verdicts against published ranges and orderings."""

from ionscope.report.literature import compare
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
                                          sigma_extrapolated_err_S_cm=sigma_err)
    return SystemResults(name=name, kind=kind, transport=tr,
                         analyses={600.0: AnalysisSummary.model_construct(structure=st)})


def rows(results):
    return {(r.quantity, r.system): r for r in compare(results, STUDY)}


def test_ranges_orderings_and_softness_get_their_verdicts():
    results = StudyResults(systems={
        "beta": system("beta", "crystal", 2.07, 1.0, 0.36, 0.02, 1e-4, 2e-5),
        "glass": system("glass", "glass", 2.13, 0.3, 0.24, 0.01, 5e-4, 1e-4),
        "gc": system("gc", "glass-ceramic", 2.08, 0.6, 0.25, 0.02, 6e-4, 2e-4)},
        softness_model=SoftnessModelSummary.model_construct(test_accuracy=0.70, n_test=400))
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
