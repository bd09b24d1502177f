"""The PBE-D3 density of β-Li3PS4 at 300-600 K from the learning loop's thermal frames.

Every committed k-point label of the 32-atom β cell explored in NVT (tasks ``beta32-TK`` and
``beta32-TK-vF``: 300-600 K, 0.97-1.06 V_CIF; not the NPT tasks) enters one least-squares plane
P = a + b (v − v̄) + c (T − T̄) (:func:`ionscope.dft.thermal_zero_pressure_volume`); its zero at
300 and 600 K is written to ``src/ionscope/data/dft/beta-Li3PS4-thermal-volume.json``, the
reference of the ``"dft"`` physics check (:mod:`ionscope.workflow.potential_checks`), with the
SHA-256 of every label file it used (``tests/test_committed_labels.py`` recomputes it).

    python validation/dft/thermal_volume.py
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from ionscope.data import crystal
from ionscope.dft import thermal_zero_pressure_volume
from ionscope.provenance import sha256_file

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
TASK = re.compile(r"beta32-(\d+)K(-v[\d.]+)?$")
TEMPERATURES = (300.0, 600.0)


def label_systems() -> list[Path]:
    return [d for folder in ("loop1-labels", "learn-labels")
            for d in sorted((HERE / folder).iterdir()) if d.is_dir() and TASK.search(d.name)]


def thermal_volume() -> dict:
    systems = label_systems()
    temperatures = [float(TASK.search(d.name).group(1)) for d in systems]
    v_cif = crystal("beta-Li3PS4").get_volume() / len(crystal("beta-Li3PS4"))
    out = {"crystal": "beta-Li3PS4", "level": "PBE-D3(0), lips-pbe-d3-12A (k-points as in a >= 12 A cell)",
           "method": "zero of the least-squares plane P = a + b (v - v_mean) + c (T - T_mean) through "
                     "the CP2K pressure of every thermal frame (ionscope.dft.thermal_zero_pressure_volume)",
           "volume_per_atom_A3": {}, "error_A3": {}, "volume_vs_cif": {}, "cif_volume_per_atom_A3": v_cif,
           "systems": {}}
    for T in TEMPERATURES:
        v0, err = thermal_zero_pressure_volume(systems, temperatures, at=T)
        out["volume_per_atom_A3"][f"{T:g}"] = v0
        out["error_A3"][f"{T:g}"] = err
        out["volume_vs_cif"][f"{T:g}"] = v0 / v_cif
    for d, T in zip(systems, temperatures):
        out["systems"][d.relative_to(ROOT).as_posix()] = {
            "T": T, "virial_sha256": sha256_file(d / "set.000" / "virial.npy"),
            "box_sha256": sha256_file(d / "set.000" / "box.npy")}
    return out


if __name__ == "__main__":
    result = thermal_volume()
    target = ROOT / "src" / "ionscope" / "data" / "dft" / "beta-Li3PS4-thermal-volume.json"
    target.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps({k: result[k] for k in ("volume_vs_cif", "error_A3")}, indent=1))
    print(f"{len(result['systems'])} systems -> {target}")
