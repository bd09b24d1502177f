"""Equation-of-state table of a labelled volume series (docs/dft.md).

    python validation/dft/eos_table.py src/ionscope/data/dft/eos-beta-Li3PS4 [V_REF_PER_ATOM]

Rows by volume: V / V_ref (V_ref: the series' middle frame unless given, Å³/atom), energy
(eV/atom), the diagonal stress and its mean (GPa, positive = the cell wants to expand), and the
volume of zero mean pressure by linear interpolation between the bracketing frames.
"""

from __future__ import annotations

import sys
from pathlib import Path

from ionscope.dft import EquationOfState


def eos_table(system: Path, v_ref: float | None = None) -> tuple[str, float]:
    eos = EquationOfState.from_labels(system)
    ref = v_ref * eos.n_atoms if v_ref else eos.volume[len(eos.volume) // 2]
    lines = ["| V / V_ref | E (eV/atom) | P_xx / P_yy / P_zz (GPa) | mean (GPa) |",
             "|---|---|---|---|"]
    for v, e, p in zip(eos.volume, eos.energy / eos.n_atoms, eos.stress_diagonal):
        lines.append(f"| {v / ref:.3f} | {e:.4f} | {' / '.join(f'{x:.2f}' for x in p)} | "
                     f"{p.mean():.2f} |")
    try:
        v0 = eos.zero_pressure_volume() / ref
    except ValueError:
        v0 = float("nan")
    return "\n".join(lines), v0


if __name__ == "__main__":
    table, v0 = eos_table(Path(sys.argv[1]), float(sys.argv[2]) if len(sys.argv) > 2 else None)
    print(table)
    print(f"zero mean pressure at V / V_ref = {v0:.3f}")
