"""Figures of a study, after the papers' results sections (Chen et al. 2025; Shimizu et al.):
every function reads plain arrays or the CSV files beside it and saves one PNG atomically."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..io.tables import read_csv
from .figures import _pyplot, save


def dynamics_figure(title, msd, gs, vdos, path) -> Path:
    """MSD and α₂ against lag (log–log) with τ_ngp marked; 4πr²G_s(r, t); VDOS."""
    plt = _pyplot()
    fig, ax = plt.subplots(1, 3, figsize=(14, 4.2))
    ok = msd.time > 0
    ax[0].loglog(msd.time[ok], msd.msd[ok], color="tab:blue", label="MSD")
    if hasattr(msd, "msd_collective"):
        coll = ok & (msd.msd_collective > 0)
        ax[0].loglog(msd.time[coll], msd.msd_collective[coll], color="tab:blue", lw=0.8, ls=":",
                     label="collective MSD / N")
        ax[0].legend(fontsize=7, loc="upper left")
    ax[0].set(xlabel="lag t (ps)", ylabel="MSD (Å²)", title="Li MSD and non-Gaussian parameter")
    twin = ax[0].twinx()
    twin.semilogx(msd.time[ok], msd.alpha2[ok], color="tab:red", label="α₂")
    twin.axvline(msd.tau_ngp, color="tab:red", ls=":", lw=1)
    twin.annotate(f"τ_ngp = {msd.tau_ngp:.2g} ps", (msd.tau_ngp, np.nanmax(msd.alpha2[ok])),
                  fontsize=8, color="tab:red")
    twin.set_ylabel("α₂(t)", color="tab:red")
    for t, curve in zip(gs.time, gs.r2Gs):
        ax[1].plot(gs.r, curve, label=f"t = {t:g} ps")
    ax[1].set(xlabel="r (Å)", ylabel="4πr²G_s(r, t) (1/Å)", title="self van Hove function")
    ax[1].legend(fontsize=8)
    if vdos is not None:
        ax[2].plot(vdos.frequency_THz, vdos.vdos)
        ax[2].set(xlim=(0, 25), xlabel="frequency (THz)", ylabel="VDOS (1/THz)",
                  title=f"Li VDOS, centre {vdos.band_centre_THz:.1f} THz")
    else:
        ax[2].set_axis_off()
    fig.suptitle(title)
    fig.tight_layout()
    return save(fig, path)


def regions_figure(title, folder: Path, path: Path) -> Path:
    """Glass-ceramic: F(Z) and composition profiles, MSD per region, Li fractions over time."""
    plt = _pyplot()
    fig, ax = plt.subplots(1, 3, figsize=(14, 4.2))
    prof = read_csv(folder / "order_profile.csv")
    ax[0].plot(prof["z_A"], prof["F"], "k", label="F(Z)")
    comp = read_csv(folder / "composition_profile.csv")
    twin = ax[0].twinx()
    for key in comp:
        if key.startswith("n_"):
            twin.plot(comp["z_A"], comp[key], lw=0.8, label=key[2:])
    twin.set_ylabel("number density (1/Å³)")
    twin.legend(fontsize=7, loc="upper right")
    ax[0].set(xlabel="Z (Å)", ylabel="F(Z)", title="order and composition profiles")
    msd = read_csv(folder / "msd_regions.csv")
    for key in msd:
        if key.startswith("msd_"):
            ok = msd["time_ps"] > 0
            ax[1].loglog(msd["time_ps"][ok], msd[key][ok], label=key[4:])
    ax[1].set(xlabel="lag t (ps)", ylabel="Li MSD (Å²)", title="region-resolved MSD")
    ax[1].legend(fontsize=8)
    frac = read_csv(folder / "li_fractions.csv")
    for key in frac:
        if key.startswith("fraction_"):
            ax[2].plot(frac["time_ps"], frac[key], label=key[9:])
    ax[2].set(xlabel="t (ps)", ylabel="fraction of Li", title="Li per region", ylim=(0, 1))
    ax[2].legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return save(fig, path)


def arrhenius_band(s: dict, n: int = 60) -> tuple[np.ndarray, ...]:
    """The Arrhenius fit of one system and its 1σ band from the covariance of (ln D₀, −E_a/k_B):
    1000/T from the highest temperature to the extrapolation temperature, D, D_low, D_high."""
    T = np.asarray(s["T_K"], float)
    x = np.linspace(1 / T.max(), 1 / s.get("sigma_T_K", 300.0), n)
    ln_d = np.log(s["D0_cm2_s"]) - s["Ea_eV"] / 8.617333262e-5 * x
    cov = np.asarray(s["arrhenius_covariance"], float)
    err = np.sqrt(cov[0, 0] + x ** 2 * cov[1, 1] + 2 * x * cov[0, 1])
    return 1000 * x, np.exp(ln_d), np.exp(ln_d - err), np.exp(ln_d + err)


def arrhenius_figure(systems: dict[str, dict], path) -> Path:
    """log10 D against 1000/T with the weighted fits, E_a ± error in the legend, and the 1σ band
    of the fit and its extrapolation; temperatures whose MSD is not diffusive are open symbols
    (not fitted)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.8, 4.4))
    for k, (name, s) in enumerate(systems.items()):
        T, D, err = (np.asarray(s[key], float) for key in ("T_K", "D_cm2_s", "D_err_cm2_s"))
        ok = D > 0
        color = f"C{k}"
        label = name
        if "Ea_eV" in s:
            label += f": E_a = {s['Ea_eV']:.2f} ± {s['Ea_err_eV']:.2f} eV"
            if "arrhenius_covariance" in s:
                x, D_fit, low, high = arrhenius_band(s)
                ax.fill_between(x, np.log10(low), np.log10(high), color=color, alpha=0.2, lw=0)
            else:
                x = np.linspace(1000 / T.max(), 1000 / s.get("sigma_T_K", 300.0), 50)
                D_fit = s["D0_cm2_s"] * np.exp(-s["Ea_eV"] / (8.617333262e-5 * 1000 / x))
            ax.plot(x, np.log10(D_fit), color=color, lw=1, ls="--")
        fitted = ok & np.asarray(s.get("diffusive", [True] * len(T)), bool)
        for points, fill, text in ((fitted, "full", label), (ok & ~fitted, "none", f"{name}: not diffusive, not fitted")):
            if points.any():
                ax.errorbar(1000 / T[points], np.log10(D[points]), fmt="o", fillstyle=fill, color=color,
                            yerr=err[points] / (D[points] * np.log(10)), label=text, capsize=2)
    ax.set(xlabel="1000/T (1/K)", ylabel="log10 D_Li (cm²/s)", title="Arrhenius (band: 1σ of the fit)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return save(fig, path)


def conductivity_figure(systems: dict[str, dict], path) -> Path:
    """σ from Nernst–Einstein (self D, uncorrelated ions) and from the collective (charge) MSD
    against 1000/T, and the Haven ratio H_R = D*/D_σ, all with 1σ errors."""
    plt = _pyplot()
    fig, ax = plt.subplots(1, 2, figsize=(11, 4.2))
    for k, (name, s) in enumerate(systems.items()):
        T = np.asarray(s["T_K"], float)
        get = lambda key: np.asarray(s.get(key, np.full(len(T), np.nan)), float)  # noqa: E731
        for key, marker, fill, text in (("sigma", "o", "full", "Nernst–Einstein"),
                                        ("sigma_collective", "s", "none", "collective")):
            value, err = get(f"{key}_S_cm"), get(f"{key}_err_S_cm")
            ok = value > 0
            ax[0].errorbar(1000 / T[ok], value[ok], yerr=np.minimum(err[ok], 0.999 * value[ok]),
                           fmt=marker, fillstyle=fill, color=f"C{k}", capsize=2, label=f"{name}, {text}")
        haven, haven_err = get("haven_ratio"), get("haven_ratio_err")
        ok = np.isfinite(haven)
        ax[1].errorbar(T[ok], haven[ok], yerr=haven_err[ok], fmt="o", color=f"C{k}", capsize=2, label=name)
    ax[0].set(yscale="log", xlabel="1000/T (1/K)", ylabel="σ (S/cm)", title="conductivity")
    ax[0].legend(fontsize=7)
    ax[1].axhline(1.0, color="k", lw=0.5)
    ax[1].set(xlabel="T (K)", ylabel="H_R = D*/D_σ", title="Haven ratio")
    ax[1].legend(fontsize=7)
    fig.tight_layout()
    return save(fig, path)


def sigma_figure(systems: dict[str, dict], path) -> Path:
    """σ(T_ref) from the Arrhenius extrapolation, per system, with its propagated error."""
    plt = _pyplot()
    names = [n for n, s in systems.items() if "sigma_extrapolated_S_cm" in s]
    fig, ax = plt.subplots(figsize=(max(4, 1.4 * len(names) + 2), 4))
    if names:
        vals = np.array([systems[n]["sigma_extrapolated_S_cm"] * 1e3 for n in names])
        errs = np.array([systems[n]["sigma_extrapolated_err_S_cm"] * 1e3 for n in names])
        ax.bar(names, vals, yerr=errs, capsize=4, color=[f"C{k}" for k in range(len(names))])
        ax.set_yscale("log")
        T = systems[names[0]]["sigma_T_K"]
        ax.set(ylabel=f"σ({T:g} K) (mS/cm)", title=f"Nernst–Einstein σ at {T:g} K (extrapolated)")
    fig.tight_layout()
    return save(fig, path)


def overlay_figure(curves: dict[str, tuple[np.ndarray, np.ndarray]], xlabel, ylabel, title, path,
                   xlim=None, offset: float = 0.0) -> Path:
    """Several systems' curves on one axis (vertically offset by ``offset`` each)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4.4))
    for k, (name, (x, y)) in enumerate(curves.items()):
        ax.plot(x, y + k * offset, label=name)
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    if xlim:
        ax.set_xlim(*xlim)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return save(fig, path)


def fractions_figure(fractions: dict[str, dict[str, float]], path) -> Path:
    """Anion units (fraction of P in PS4, P2S7, P2S6, other) per system, grouped bars."""
    plt = _pyplot()
    units = sorted({u for f in fractions.values() for u in f})
    fig, ax = plt.subplots(figsize=(6, 4))
    width = 0.8 / max(1, len(fractions))
    for k, (name, f) in enumerate(fractions.items()):
        ax.bar(np.arange(len(units)) + k * width, [f.get(u, 0.0) for u in units], width, label=name)
    ax.set_xticks(np.arange(len(units)) + 0.4 - width / 2, units)
    ax.set(ylabel="fraction of P", title="thiophosphate anion units", ylim=(0, 1))
    ax.legend(fontsize=8)
    fig.tight_layout()
    return save(fig, path)


def softness_figure(softness: dict[str, np.ndarray], path) -> Path:
    """Softness distributions per system (per region where given as 'system: region')."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4.2))
    values = np.concatenate(list(softness.values()))
    bins = np.linspace(values.min(), values.max(), 40)
    for name, s in softness.items():
        ax.hist(s, bins=bins, histtype="step", lw=1.5, density=True, label=name)
    ax.axvline(0, color="k", lw=0.5)
    ax.set(xlabel="softness S", ylabel="probability density", title="Li softness")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return save(fig, path)


def softness_q6_figure(profiles: dict[str, dict[str, np.ndarray]], path) -> Path:
    """Softness and q̄6 profiles along the slab normal of glass-ceramics, with Pearson r."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(profiles), figsize=(5.5 * len(profiles), 4), squeeze=False)
    for ax, (name, p) in zip(axes[0], profiles.items()):
        ax.plot(p["z"], p["softness"], "o-", ms=3, label="mean softness")
        twin = ax.twinx()
        twin.plot(p["z"], p["q6bar"], "s-", ms=3, color="tab:red", label="q̄6")
        twin.set_ylabel("q̄6", color="tab:red")
        ok = np.isfinite(p["softness"]) & np.isfinite(p["q6bar"])
        r = np.corrcoef(p["softness"][ok], p["q6bar"][ok])[0, 1] if ok.sum() > 2 else np.nan
        ax.set(xlabel="Z (Å)", ylabel="softness", title=f"{name}: Pearson r = {r:.2f}")
    fig.tight_layout()
    return save(fig, path)
