"""Validation tables and parity plots of a potential on held-out DFT frames."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
import numpy as np

from ..dft.eos import diagonal_stress
from ..provenance import atomic_path, atomic_write, write_json


def pressure_errors(data: dict, v_pred: np.ndarray) -> dict:
    """Mean and RMS of P_model − P_DFT (GPa) over the frames of a system, P = tr(W)/(3V) with W
    the virial (eV) and V the cell volume: how far the potential's equation of state is from
    the DFT's at the sampled volumes (a mean error ΔP shifts the NPT volume by about ΔP/B)."""
    _, predicted = diagonal_stress(v_pred, data["box"])
    _, reference = diagonal_stress(data["virial"], data["box"])
    dp = predicted.mean(axis=1) - reference.mean(axis=1)
    return {"pressure_mean_error_GPa": float(dp.mean()),
            "pressure_rmse_GPa": float(np.sqrt(np.mean(dp ** 2)))}


def summarize_errors(predictions) -> dict:
    """Energy (meV/atom), force (meV/Å) and virial (meV/atom) RMSE per system and pooled, and
    each system's pressure error (:func:`pressure_errors`), from ``(name, reference data,
    energies, forces, virials)`` per system; predicted and reference values are kept for parity
    plots."""
    per_system, pooled = {}, {"de": [], "df": [], "dv": []}
    for name, data, e_pred, f_pred, v_pred in predictions:
        n_atoms = len(data["types"])
        de = (e_pred - data["energy"]) / n_atoms
        df = (f_pred - data["force"]).reshape(-1)
        dv = (v_pred - data["virial"]).reshape(-1) / n_atoms if "virial" in data else np.array([])
        per_system[name] = {
            "atoms": n_atoms, "frames": len(e_pred),
            "energy_rmse_meV_atom": 1e3 * float(np.sqrt(np.mean(de ** 2))),
            "force_rmse_meV_A": 1e3 * float(np.sqrt(np.mean(df ** 2))),
            "virial_rmse_meV_atom": 1e3 * float(np.sqrt(np.mean(dv ** 2))) if dv.size else None,
            "parity": {"energy_ref": data["energy"] / n_atoms, "energy_pred": e_pred / n_atoms,
                       "force_ref": data["force"].reshape(-1), "force_pred": f_pred.reshape(-1),
                       "virial_pred": v_pred},
        }
        if "virial" in data:
            per_system[name].update(pressure_errors(data, v_pred))
        pooled["de"].append(de); pooled["df"].append(df); pooled["dv"].append(dv)
    overall = {k: 1e3 * float(np.sqrt(np.mean(np.concatenate(v) ** 2))) for k, v in pooled.items()}
    return {"systems": per_system,
            "overall": {"energy_rmse_meV_atom": overall["de"], "force_rmse_meV_A": overall["df"],
                        "virial_rmse_meV_atom": overall["dv"]}}


def validation_table(result: dict) -> str:
    """Markdown table of per-system and overall RMSEs."""
    lines = ["| system | atoms | frames | E RMSE (meV/atom) | F RMSE (meV/Å) | V RMSE (meV/atom) |",
             "|---|---:|---:|---:|---:|---:|"]
    for name, row in result["systems"].items():
        v = row["virial_rmse_meV_atom"]
        lines.append(f"| {name} | {row['atoms']} | {row['frames']} | "
                     f"{row['energy_rmse_meV_atom']:.2f} | {row['force_rmse_meV_A']:.1f} | "
                     f"{'' if v is None else f'{v:.2f}'} |")
    o = result["overall"]
    lines.append(f"| **all** | | | {o['energy_rmse_meV_atom']:.2f} | {o['force_rmse_meV_A']:.1f} | "
                 f"{o['virial_rmse_meV_atom']:.2f} |")
    return "\n".join(lines) + "\n"


def write_validation(result: dict, out_dir: str | Path) -> None:
    """``table.md``, ``validation.json`` (without the parity arrays) and ``parity.png``."""
    matplotlib.use("Agg")

    out_dir = Path(out_dir)
    with atomic_write(out_dir / "table.md") as handle:
        handle.write(validation_table(result))
    slim = {"overall": result["overall"],
            "systems": {k: {kk: vv for kk, vv in v.items() if kk != "parity"}
                        for k, v in result["systems"].items()}}
    write_json(out_dir / "validation.json", slim)
    fig, (ax_e, ax_f) = plt.subplots(1, 2, figsize=(10, 4.6))
    rng = np.random.default_rng(0)
    for name, row in result["systems"].items():
        p = row["parity"]
        ax_e.scatter(p["energy_ref"], p["energy_pred"], s=4, label=name)
        idx = rng.choice(p["force_ref"].size, size=min(2000, p["force_ref"].size), replace=False)
        ax_f.scatter(p["force_ref"][idx], p["force_pred"][idx], s=2, alpha=0.5)
    for ax, unit in ((ax_e, "E (eV/atom)"), (ax_f, "F component (eV/Å)")):
        lim = [min(ax.get_xlim()[0], ax.get_ylim()[0]), max(ax.get_xlim()[1], ax.get_ylim()[1])]
        ax.plot(lim, lim, "k--", lw=0.8)
        ax.set_xlabel(f"DFT {unit}")
        ax.set_ylabel(f"model {unit}")
    ax_e.legend(fontsize=6, ncol=2, markerscale=2)
    fig.tight_layout()
    with atomic_path(out_dir / "parity.png") as tmp:
        fig.savefig(tmp, dpi=130)
    plt.close(fig)
