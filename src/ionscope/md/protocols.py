"""MD protocols as lists of segments that :func:`ionscope.md.run_stage` turns into LAMMPS runs.

A segment is a dict: ``ensemble`` ("nvt", "npt", "nve" or "minimize"), ``ps`` (duration),
``T`` and optionally ``T_end`` (a linear ramp, K), ``P`` (bar, NPT: one number for every axis,
or three, the targets of xx, yy and zz with the axes uncoupled). Rates are in K/ps.
"""

from __future__ import annotations


def nvt(T: float, ps: float, T_end: float | None = None) -> list[dict]:
    return [{"ensemble": "nvt", "T": T, "T_end": T if T_end is None else T_end, "ps": ps}]


def npt(T: float, ps: float, P: float | tuple[float, float, float] = 1.0,
        T_end: float | None = None) -> list[dict]:
    return [{"ensemble": "npt", "T": T, "T_end": T if T_end is None else T_end, "P": P, "ps": ps}]


def nve(ps: float) -> list[dict]:
    return [{"ensemble": "nve", "ps": ps}]


def _ramp(ensemble: str, T0: float, T1: float, rate: float, P: float) -> list[dict]:
    if rate <= 0:
        raise ValueError(f"rates must be positive K/ps, got {rate}")
    segment = {"ensemble": ensemble, "T": T0, "T_end": T1, "ps": abs(T1 - T0) / rate}
    if ensemble == "npt":
        segment["P"] = P
    return [segment]


def melt_quench(T_high: float = 1500.0, hold_ps: float = 100.0, cool_rate: float = 2.5,
                T_low: float = 300.0, relax_ps: float = 100.0, heat_rate: float | None = None,
                ensemble: str = "npt", P: float = 1.0) -> list[dict]:
    """Chen et al. (2025): heat to 1500 K, hold 100 ps, cool to 300 K at 2.5 K/ps, relax, all
    NPT. Shimizu et al.: heat at 240 K/ps, hold 10 ps at 1500 K, cool at 4 K/ps."""
    hold = {"ensemble": ensemble, "T": T_high, "T_end": T_high, "ps": hold_ps}
    relax = {"ensemble": ensemble, "T": T_low, "T_end": T_low, "ps": relax_ps}
    if ensemble == "npt":
        hold["P"] = relax["P"] = P
    segments = _ramp(ensemble, T_low, T_high, heat_rate, P) if heat_rate else []
    segments += [hold] + _ramp(ensemble, T_high, T_low, cool_rate, P) + [relax]
    return [s for s in segments if s["ps"] > 0]


def glass_ceramic(T_high: float = 1500.0, hold_ps: float = 100.0, cool_rate: float = 2.5,
                  T_low: float = 300.0, relax_ps: float = 100.0, P: float = 1.0,
                  relax_ensemble: str = "npt") -> list[dict]:
    """Melt-quench under NVT with the crystal slab frozen (atoms flagged ``frozen``: zero force
    and velocity, outside the thermostat), then NPT relaxation of the whole box. The frozen
    flag applies to the segments marked ``frozen: True``."""
    melt = [dict(s, frozen=True) for s in
            melt_quench(T_high, hold_ps, cool_rate, T_low, relax_ps=0.0, ensemble="nvt")]
    relax = npt(T_low, relax_ps, P) if relax_ensemble == "npt" else nvt(T_low, relax_ps)
    return melt + [s for s in relax if s["ps"] > 0]


def anneal(T: float = 600.0, ps: float = 10_000.0, P: float = 1.0) -> list[dict]:
    """Shimizu et al.: NPT at 600 K and 1 bar for tens of ns; snapshots come from the dump."""
    return npt(T, ps, P)


def diffusion_run(T: float, equilibrate_ps: float, production_ps: float,
                  P: float | tuple[float, float, float] = 1.0,
                  production_ensemble: str = "nvt", equilibrate_ensemble: str = "npt") -> list[dict]:
    """One temperature of a series: NPT equilibration (or NVT at the starting density), then
    production (NVT by default, at the equilibrated volume). Only the production is dumped."""
    equilibrate = npt(T, equilibrate_ps, P) if equilibrate_ensemble == "npt" else nvt(T, equilibrate_ps)
    segments = [dict(equilibrate[0], dump=False)]
    prod = nvt(T, production_ps)[0] if production_ensemble == "nvt" else npt(T, production_ps, P)[0]
    return segments + [dict(prod, dump=True)]
