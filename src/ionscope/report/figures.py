"""Publication-style figures (matplotlib, Agg backend), each saved atomically."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt

from ..provenance import atomic_path


def _pyplot():
    matplotlib.use("Agg")

    return plt


def save(fig, path: str | Path, dpi: int = 150) -> Path:
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi, bbox_inches="tight")
    _pyplot().close(fig)
    return path


def structure_figure(name, rdf, sq, angles, units, xrd, cryst, path) -> Path:
    """Six panels: partial g(r), running coordination, S(Q), bond angles, anion units, XRD."""
    plt = _pyplot()
    fig, ax = plt.subplots(2, 3, figsize=(13, 7.5))
    for (a, b), g in rdf.g.items():
        ax[0, 0].plot(rdf.r, g, lw=1, label=f"{a}–{b}")
    ax[0, 0].set(xlabel="r (Å)", ylabel="g(r)", title="partial pair distribution")
    ax[0, 0].legend(fontsize=7)
    for pair in (("P", "S"), ("Li", "S"), ("Li", "Li")):
        if pair in rdf.n:
            ax[0, 1].plot(rdf.r, rdf.n[pair], label=f"{pair[0]}–{pair[1]}")
    ax[0, 1].set(xlabel="r (Å)", ylabel="n(r)", title="running coordination", ylim=(0, 12))
    ax[0, 1].legend(fontsize=7)
    ax[0, 2].plot(sq.q, sq.neutron, label="neutron")
    ax[0, 2].plot(sq.q, sq.xray, label="X-ray")
    ax[0, 2].set(xlabel="Q (Å⁻¹)", ylabel="S(Q)", title="total structure factor")
    ax[0, 2].legend(fontsize=7)
    for t, p in angles.p.items():
        ax[1, 0].plot(angles.angles, p, label="–".join(t))
    ax[1, 0].set(xlabel="angle (°)", ylabel="P(θ) (1/°)", title="bond angles")
    ax[1, 0].legend(fontsize=7)
    fractions = units.mean_p_fraction
    ax[1, 1].bar(list(fractions), list(fractions.values()), color="tab:green")
    ax[1, 1].set(ylabel="fraction of P", title="thiophosphate units", ylim=(0, 1))
    ax[1, 2].plot(xrd.two_theta, xrd.intensity, lw=0.8)
    ax[1, 2].plot(xrd.two_theta, cryst.background, lw=0.8, ls="--", label="amorphous background")
    ax[1, 2].set(xlabel="2θ (°, Cu Kα)", ylabel="intensity",
                 title=f"XRD, crystallinity {cryst.crystallinity:.2f}")
    ax[1, 2].legend(fontsize=7)
    fig.suptitle(name)
    fig.tight_layout()
    return save(fig, path)
