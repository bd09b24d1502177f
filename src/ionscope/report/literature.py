"""How a study's headline numbers compare with the published ones: one row per quantity and
system with ionscope's value ± error, the published value or range, its source and a verdict.

Verdicts (a number with standard error σ; 2σ is the band used):

- a published range [lo, hi]: ``agrees`` when [x − 2σ, x + 2σ] overlaps it, else ``higher`` /
  ``lower``;
- an ordering a > b (σ_ab = √(σ_a² + σ_b²)): ``holds`` when a − b > 2σ_ab, ``within errors`` when
  |a − b| ≤ 2σ_ab, ``opposite`` when b − a > 2σ_ab;
- a lower bound: ``agrees`` when x + 2σ ≥ bound, else ``lower``;
- ``not measured`` when the study has no such number (e.g. no fit below two diffusive
  temperatures).

An ordering's ``context`` gives its gap in combined standard errors and, for σ, the ratio
measured at the simulated temperatures; :func:`transport_basis` lists, per system, what E_a and
σ rest on (protocol, statistics, potential), so that a disagreement can be traced to a part of
the chain, and :func:`dft_reference_rows` sets each system's structure beside DFT-labelled
frames of the same material (a quantity outside the DFT frames' range is the potential's part).

The published values are those the papers behind ionscope report (Chen et al. 2025 and Shimizu
et al., simulations of Li3PS4 crystal, glass and glass-ceramic with DeePMD; Liu et al., J. Am.
Chem. Soc. 135, 975 (2013), nanoporous β-Li3PS4; Dietrich et al., J. Mater. Chem. A 5, 18111
(2017), anion units of 75Li2S–25P2S5 glass).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from .summaries import StudyResults

BAND = 2.0
"""Verdicts use ±BAND standard errors."""


@dataclass
class Comparison:
    """One row of the literature table."""

    quantity: str
    system: str
    ionscope: str
    published: str
    source: str
    verdict: str
    context: str = ""


@dataclass(frozen=True)
class Published:
    """A published range [lo, hi] of a per-system quantity, for systems of ``kinds``."""

    quantity: str
    kinds: tuple[str, ...]
    lo: float
    hi: float
    source: str
    unit: str = ""


RANGES = (
    Published("P–S bond length", ("crystal", "glass", "glass-ceramic"), 2.04, 2.10,
              "PS4 tetrahedra, 2.07 Å (Chen et al. 2025)", "Å"),
    Published("Li–S coordination", ("crystal", "glass", "glass-ceramic"), 3.5, 4.5,
              "≈ 4 (Chen et al. 2025)"),
    Published("S–P–S angle peak", ("crystal", "glass", "glass-ceramic"), 106.5, 112.5,
              "109.5° of the tetrahedron (Chen et al. 2025)", "°"),
    Published("PS4 fraction of P", ("glass",), 0.5, 1.0,
              "PS4³⁻ majority with P2S7⁴⁻ and P2S6⁴⁻ (Dietrich et al. 2017; Chen et al. 2025)"),
    Published("E_a", ("crystal",), 0.30, 0.50,
              "β-Li3PS4: 0.31–0.40 eV simulated (Chen et al. 2025), 0.30–0.50 measured "
              "(0.356 eV, Liu et al. 2013)", "eV"),
    Published("E_a", ("glass",), 0.22, 0.27,
              "75Li2S–25P2S5 glass: 0.22–0.27 eV simulated (Chen et al. 2025; Shimizu et al.)", "eV"),
)
SOFTNESS_ACCURACY = 0.78
"""Held-out accuracy of the softness hyperplane in Chen et al. 2025 (0.80 on training Li)."""


def compare(results: StudyResults, study) -> list[Comparison]:
    """The literature table of a study: ranges per system, the orderings between systems of
    Chen et al. 2025 (E_a(β) > E_a(glass), σ_glass > σ_β and σ_glass-ceramic ≥ σ_glass at
    ``study.analysis.sigma_T``) and the softness accuracy."""
    crystals = {s.name: s.crystal for s in study.systems}
    rows: list[Comparison] = []
    for ref in RANGES:
        for name, d in results.systems.items():
            if d.kind not in ref.kinds or (d.kind == "crystal" and ref.quantity == "E_a"
                                           and "beta" not in str(crystals.get(name, ""))):
                continue
            x, err = _value(ref.quantity, d)
            shown = _show(x, err, ref.unit) + (_SUB_DIFFUSIVE if ref.quantity == "E_a" and _sub(d) else "")
            rows.append(Comparison(ref.quantity, name, shown,
                                   f"{ref.lo:g}–{ref.hi:g} {ref.unit}".strip(), ref.source,
                                   _range_verdict(x, err, ref.lo, ref.hi)))
    by_kind = {}
    for name, d in results.systems.items():
        by_kind.setdefault(d.kind, []).append(name)
    T = study.analysis.sigma_T
    for a_kind, b_kind, what, text, source in (
            ("crystal", "glass", "E_a", "E_a(β) > E_a(glass)", "Chen et al. 2025"),
            ("glass", "crystal", "sigma", f"σ_glass({T:g} K) > σ_β",
             "Chen et al. 2025 (disorder enhances conduction)"),
            ("glass-ceramic", "glass", "sigma", f"σ_glass-ceramic({T:g} K) ≥ σ_glass",
             "Chen et al. 2025")):
        for a in by_kind.get(a_kind, []):
            for b in by_kind.get(b_kind, []):
                x_a, e_a = _transport(results.systems[a], what)
                x_b, e_b = _transport(results.systems[b], what)
                shown = " vs ".join(_show(x, e) + (_SUB_DIFFUSIVE if _sub(results.systems[n]) else "")
                                    for n, x, e in ((a, x_a, e_a), (b, x_b, e_b)))
                rows.append(Comparison(text, f"{a} vs {b}", shown, "holds", source,
                                       _order_verdict(x_a, e_a, x_b, e_b),
                                       _order_context(what, results.systems[a], results.systems[b],
                                                      x_a, e_a, x_b, e_b)))
    model = results.softness_model
    accuracy = model.test_accuracy if model is not None else None
    n = model.n_test if model is not None else 0
    err = math.sqrt(accuracy * (1 - accuracy) / n) if accuracy is not None and n else None
    rows.append(Comparison("softness held-out accuracy", "all", _show(accuracy, err),
                           f"≥ {SOFTNESS_ACCURACY:g}", "0.78 test, 0.80 train (Chen et al. 2025)",
                           _bound_verdict(accuracy, err, SOFTNESS_ACCURACY),
                           _within_systems(model.test_by_system) if model is not None else ""))
    return rows


def _within_systems(by_system: dict[str, dict]) -> str:
    """The held-out balanced accuracy inside each system (chance 0.5 whatever the share of mobile
    Li): a pooled accuracy above the bound can come from telling the systems apart alone."""
    parts = [f"{name} {v['balanced_accuracy']:.2f} (n = {v['n']})"
             for name, v in by_system.items() if _ok(v.get("balanced_accuracy"))]
    return ("within each system, balanced (chance 0.5): " + ", ".join(parts)) if parts else ""


_SUB_DIFFUSIVE = " (fit to sub-diffusive D: unreliable)"


def _order_context(what: str, a, b, x_a, e_a, x_b, e_b) -> str:
    """What an ordering rests on: the gap in combined standard errors and, for σ, the ratio
    σ_a/σ_b measured at the temperatures both systems ran (no extrapolation), so a reader sees
    whether the extrapolation to room temperature, not the MD, decides the verdict."""
    parts = []
    if _ok(x_a) and _ok(x_b):
        err = math.hypot(e_a if _ok(e_a) else 0.0, e_b if _ok(e_b) else 0.0)
        gap = (x_a - x_b) / err if err > 0 else math.inf
        parts.append(f"{'ratio' if what == 'sigma' else 'difference'} "
                     + (f"{x_a / x_b:.3g}" if what == "sigma" else f"{x_a - x_b:+.3g} eV")
                     + (f", {gap:+.1f} σ" if math.isfinite(gap) else ""))
    if what == "sigma" and a.transport is not None and b.transport is not None:
        ta = dict(zip(a.transport.T_K, a.transport.sigma_S_cm))
        tb = dict(zip(b.transport.T_K, b.transport.sigma_S_cm))
        common = sorted(set(ta) & set(tb))
        if common:
            parts.append("measured σ_NE ratio at " + ", ".join(
                f"{T:g} K: {ta[T] / tb[T]:.2g}" for T in common if tb[T] > 0))
    return "; ".join(parts)


def transport_basis(results: StudyResults, study) -> list[dict]:
    """What each system's E_a and σ rest on, one row per system: the protocol (fitted
    temperatures, those left out as sub-diffusive, how far σ is extrapolated in 1/T), the
    statistics (relative standard errors of D and E_a), the potential (the committee's force
    deviation on the production frames of the fitted temperatures, and the share of the atoms of
    the worst species beyond the learning loop's upper trust level) and the framework (the
    fraction of PS4 units that flipped at each temperature: an Arrhenius line across the onset
    of flips joins two phases, Gigli et al. 2024)."""
    sigma_T = study.analysis.sigma_T
    rows = []
    for name, d in results.systems.items():
        tr = d.transport
        if tr is None or not _ok(tr.Ea_eV):
            continue
        fit = tr.fit_T_K or tr.T_K
        lo, hi = min(fit), max(fit)
        left = [T for T, ok in zip(tr.T_K, tr.diffusive) if not ok and T not in fit]
        rel = [e / D for T, D, e in zip(tr.T_K, tr.D_cm2_s, tr.D_err_cm2_s) if T in fit and D > 0]
        devi = [a.committee_max_devi_f_eV_A for T, a in d.analyses.items()
                if T in fit and a.committee_max_devi_f_eV_A is not None]
        lever = (1 / sigma_T - 1 / lo) / (1 / lo - 1 / hi) if hi > lo and sigma_T < lo else None
        rows.append({
            "system": name,
            "fitted (K)": ", ".join(f"{T:g}" for T in fit),
            "left out, sub-diffusive (K)": ", ".join(f"{T:g}" for T in left) or "none",
            "fit warning": tr.fit_warning or "",
            f"extrapolation to {sigma_T:g} K (× fitted 1/T range)": _show(lever, None),
            "D relative error (%)": f"{100 * min(rel):.0f}–{100 * max(rel):.0f}" if rel else "–",
            "E_a relative error (%)": _show(100 * tr.Ea_err_eV / tr.Ea_eV
                                            if _ok(tr.Ea_err_eV) and tr.Ea_eV else None, None),
            "committee force deviation (eV/Å)": f"{min(devi):.2f}–{max(devi):.2f}" if devi else "–",
            "atoms beyond the committee's trust level (worst species)": ", ".join(
                f"{T:g} K: {_worst(a.committee_untrusted_fraction)}" for T, a in sorted(d.analyses.items())
                if T in fit and a.committee_untrusted_fraction) or "–",
            "structure outside its DFT frames' range": _outside_dft(d),
            "PS4 units flipped in the run": ", ".join(
                f"{T:g} K: {a.ps4_flipped_fraction:.2f}" for T, a in sorted(d.analyses.items())
                if a.ps4_flipped_fraction is not None) or "–",
        })
    return rows


ENVIRONMENT_LABELS = {
    "density_g_cm3": "density (g/cm³)", "PS4": "fraction of P in PS4", "P2S7": "fraction of P in P2S7",
    "P2S6": "fraction of P in P2S6", "other": "fraction of P in other units",
    "bridging_S": "bridging S per P", "S_S": "S–S bonds per P", "P_P": "P–P bonds per P",
    "S_without_P": "S bound to no P, per P", "P_under_4S": "P with fewer than 4 S, per P"}
"""Display names of :data:`ionscope.analysis.structure.ENVIRONMENT_KEYS`."""


def dft_reference_rows(results: StudyResults) -> list[dict]:
    """Per system with DFT-reference frames and per quantity: the study's MD (mean ± block
    standard error), the DFT frames (mean ± standard deviation, range) and the verdict of the
    study's value against the DFT frames' range (``agrees`` / ``higher`` / ``lower``, ±2 standard
    errors)."""
    rows = []
    for name, d in results.systems.items():
        ref = d.dft_reference
        if ref is None:
            continue
        for key, q in ref.quantities.items():
            rows.append({"system": name, "quantity": ENVIRONMENT_LABELS.get(key, key),
                         "MD": f"{_show(q.study, q.study_err)} ({ref.T:g} K, {ref.study_frames} frames)",
                         "DFT frames": f"{q.dft_mean:.3g} ± {q.dft_std:.2g} "
                                       f"(range {q.dft_min:.3g}–{q.dft_max:.3g}, {ref.dft_frames} frames)",
                         "verdict": _range_verdict(q.study, q.study_err, q.dft_min, q.dft_max),
                         "DFT frames are": f"{ref.label} ({', '.join(ref.dft_formulas)}; "
                                           f"the MD: {ref.study_formula})"})
    return rows


def _outside_dft(d) -> str:
    """The quantities of a system's structure outside its DFT frames' range (:func:`dft_reference_rows`)."""
    ref = d.dft_reference
    if ref is None:
        return "–"
    outside = [f"{ENVIRONMENT_LABELS.get(k, k)} {_show(q.study, None)} vs {q.dft_min:.3g}–{q.dft_max:.3g}"
               for k, q in ref.quantities.items()
               if _range_verdict(q.study, q.study_err, q.dft_min, q.dft_max) != "agrees"]
    return "; ".join(outside) or "none"


def _sub(d) -> bool:
    """Whether a system's Arrhenius fit had to use sub-diffusive temperatures."""
    return d.transport is not None and bool(d.transport.fit_warning)


def _worst(fractions: dict[str, float]) -> str:
    """The species with the largest fraction, as 'S 1.2 %'."""
    species = max(fractions, key=fractions.get)
    return f"{species} {100 * fractions[species]:.2g} %"


def as_rows(comparisons: list[Comparison]) -> list[dict]:
    return [asdict(c) for c in comparisons]


def _value(quantity: str, d) -> tuple[float | None, float | None]:
    if quantity == "E_a":
        return _transport(d, "E_a")
    st = d.analyses[min(d.analyses)].structure if d.analyses else None
    if st is None:
        return None, None
    return {"P–S bond length": st.p_s_bond_length_A, "Li–S coordination": st.li_s_coordination,
            "S–P–S angle peak": st.sps_angle_peak_deg,
            "PS4 fraction of P": st.anion_p_fractions.get("PS4")}[quantity], None


def _transport(d, what: str) -> tuple[float | None, float | None]:
    tr = d.transport
    if tr is None:
        return None, None
    if what == "E_a":
        return tr.Ea_eV, tr.Ea_err_eV
    return tr.sigma_extrapolated_S_cm, tr.sigma_extrapolated_err_S_cm


def _ok(x) -> bool:
    return x is not None and math.isfinite(x)


def _range_verdict(x, err, lo, hi) -> str:
    if not _ok(x):
        return "not measured"
    band = BAND * err if _ok(err) else 0.0
    if x + band < lo:
        return "lower"
    if x - band > hi:
        return "higher"
    return "agrees"


def _order_verdict(a, e_a, b, e_b) -> str:
    if not (_ok(a) and _ok(b)):
        return "not measured"
    band = BAND * math.hypot(e_a if _ok(e_a) else 0.0, e_b if _ok(e_b) else 0.0)
    if a - b > band:
        return "holds"
    if b - a > band:
        return "opposite"
    return "within errors"


def _bound_verdict(x, err, bound) -> str:
    if not _ok(x):
        return "not measured"
    return "agrees" if x + (BAND * err if _ok(err) else 0.0) >= bound else "lower"


def _show(x, err, unit: str = "") -> str:
    if not _ok(x):
        return "–"
    text = f"{x:.3g}" + (f" ± {err:.2g}" if _ok(err) else "")
    return f"{text} {unit}".strip()
