"""Bring DFT data to one level of theory by adding or removing the analytic D3 correction.

Each DeePMD npy system below a data root has a level of theory: from its ``labels.json`` when
ionscope labelled it, otherwise from a table of glob patterns (``LIPS_DFT_LEVELS`` for the
Li–P–S data of Chen et al. 2025, as measured with CP2K in ``docs/level-of-theory.md``). A system
at ``PBE`` is raised to ``PBE-D3(0)`` by adding the D3 energy, forces and virial of every frame
(:func:`ionscope.dft.d3.d3_terms`), a ``PBE-D3(0)`` system is lowered by subtracting them; the
curated copy keeps every frame and writes ``curation.json`` / ``curation.md``: what was done to
each system and how large the change was.
"""

from __future__ import annotations

import fnmatch
import json
import os
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from ..provenance import atomic_write, provenance, sha256_file, write_json
from .cp2k import EV_PER_A3_IN_GPA
from .d3 import d3_terms

LEVELS = ("PBE", "PBE-D3(0)")

LIPS_DFT_LEVELS: dict[str, str] = {"glass-iter*": "PBE-D3(0)", "*": "PBE"}
"""The Li–P–S training data (Chen et al. 2025): AIMD systems are PBE without D3 although the
paper states PBE-D3; the active-learning glass frames include D3 (docs/level-of-theory.md)."""


@dataclass
class SystemCuration:
    """What curation did to one system (D3 numbers are means over its frames)."""

    system: str
    frames: int
    atoms: int
    level: str
    action: str                   # "kept", "added D3", "removed D3"
    d3_energy_per_atom: float     # eV/atom
    d3_force_rms: float           # eV/Å
    d3_pressure_gpa: float        # GPa, + = expand


def find_level(system: Path, patterns: dict[str, str]) -> str:
    """A system's level of theory: ``labels.json`` first, then the first matching pattern."""
    labels = system / "labels.json"
    if labels.exists():
        level = json.loads(labels.read_text()).get("level_of_theory")
        if level:
            return _check_level(level, labels)
    for pattern, level in patterns.items():
        if fnmatch.fnmatch(system.name, pattern):
            return _check_level(level, system)
    raise ValueError(f"{system}: level of theory unknown (no labels.json, no pattern matches "
                     f"{system.name!r}); give it with --level {system.name}=PBE|PBE-D3(0)")


def _check_level(level: str, where) -> str:
    if level not in LEVELS:
        raise ValueError(f"{where}: level of theory {level!r} is not one of {', '.join(LEVELS)}")
    return level


def shift_system(system: Path, out: Path, level: str, target: str,
                 progress: bool = True) -> SystemCuration:
    """Copy ``system`` (at ``level``) to ``out`` at ``target``: D3 added to, removed from or kept
    in every frame's energy, forces and virial (float64)."""
    sign = 0 if level == target else (1 if target == "PBE-D3(0)" else -1)
    types = np.loadtxt(system / "type.raw", dtype=int, ndmin=1)
    type_map = (system / "type_map.raw").read_text().split()
    symbols = [type_map[t] for t in types]
    out.mkdir(parents=True, exist_ok=True)
    for name in ("type.raw", "type_map.raw"):
        shutil.copyfile(system / name, out / name)
    energies, forces, pressures = [], [], []
    for set_dir in sorted(system.glob("set.*")):
        data = {p.stem: np.load(p) for p in set_dir.glob("*.npy")}
        coord, box = data["coord"], data["box"]
        n = len(coord)
        d_energy, d_force, d_virial = np.zeros(n), np.zeros(coord.shape), np.zeros((n, 9))
        for k in tqdm(range(n), desc=f"D3 {system.name}/{set_dir.name}", disable=not progress,
                      leave=False):
            cell = box[k].reshape(3, 3)
            terms = d3_terms(symbols, coord[k].reshape(-1, 3), cell)
            d_energy[k], d_force[k], d_virial[k] = terms.energy, terms.forces.ravel(), terms.virial.ravel()
            pressures.append(np.trace(terms.virial) / 3 / abs(np.linalg.det(cell)) * EV_PER_A3_IN_GPA)
        energies.append(d_energy)
        forces.append(d_force)
        shifted = dict(data)
        if sign:
            shifted["energy"] = data["energy"].astype(np.float64) + sign * d_energy
            shifted["force"] = data["force"].astype(np.float64) + sign * d_force
            if "virial" in data:
                shifted["virial"] = data["virial"].astype(np.float64) + sign * d_virial
        (out / set_dir.name).mkdir(exist_ok=True)
        for name, array in shifted.items():
            np.save(out / set_dir.name / f"{name}.npy", array)
    energy = np.concatenate(energies)
    force = np.concatenate(forces)
    return SystemCuration(system=system.name, frames=len(energy), atoms=len(types), level=level,
                          action={0: "kept", 1: "added D3", -1: "removed D3"}[sign], d3_energy_per_atom=float(energy.mean() / len(types)),
                          d3_force_rms=float(np.sqrt(np.mean(force ** 2))),
                          d3_pressure_gpa=float(np.mean(pressures)))


def curate(data_root: str | os.PathLike, out_root: str | os.PathLike, target: str = "PBE-D3(0)",
           levels: dict[str, str] | None = None, progress: bool = True) -> list[SystemCuration]:
    """Write every system of ``data_root`` at level ``target`` below ``out_root``, with a report.

    ``levels`` maps glob patterns of system names to their level (default ``LIPS_DFT_LEVELS``);
    a system's own ``labels.json`` wins over it.
    """
    data_root, out_root = Path(data_root), Path(out_root)
    _check_level(target, "target")
    if out_root.resolve() == data_root.resolve() or data_root.resolve() in out_root.resolve().parents:
        raise ValueError(f"{out_root}: the curated copy must not be written inside {data_root}")
    systems = sorted(p.parent for p in data_root.rglob("type.raw"))
    if not systems:
        raise FileNotFoundError(f"{data_root}: no DeePMD npy systems (no type.raw below it)")
    patterns = LIPS_DFT_LEVELS if levels is None else levels
    found = {s: find_level(s, patterns) for s in systems}
    rows = []
    for system in tqdm(systems, desc="curating", unit="system", disable=not progress):
        rows.append(shift_system(system, out_root / system.relative_to(data_root), found[system],
                                 target, progress))
    write_json(out_root / "curation.json", provenance(
        inputs={"data": data_root}, parameters={"target": target, "levels": patterns},
        level_of_theory=target, systems=[asdict(r) for r in rows]))
    with atomic_write(out_root / "curation.md") as handle:
        handle.write(curation_table(rows, target, data_root))
    return rows


def curation_table(rows: list[SystemCuration], target: str, data_root: Path) -> str:
    """A Markdown report of a curation."""
    lines = [f"# Curated to {target}", "", f"Source: `{data_root}` (SHA-256 "
             f"`{sha256_file(data_root)[:16]}…`). D3: zero damping, PBE parameters, no three-body "
             "term (simple-DFT-D3), as CP2K's DFTD3 pair potential.", "",
             "| system | frames | atoms | stored level | action | D3 energy (meV/atom) | "
             "D3 force RMS (meV/Å) | D3 pressure (GPa) |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r.system} | {r.frames} | {r.atoms} | {r.level} | {r.action} | "
                     f"{1000 * r.d3_energy_per_atom:.1f} | {1000 * r.d3_force_rms:.1f} | "
                     f"{r.d3_pressure_gpa:+.2f} |")
    return "\n".join(lines) + "\n"
