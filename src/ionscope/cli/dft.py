"""``ionscope dft label``: CP2K labels of frames, at one recorded level of theory."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..dft import PRESETS, get_preset, label_frames
from ..dft.compare import level_evidence
from ..structures import volume_series
from .common import add_trajectory_options, open_from_args, positive_int


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("dft", help="label frames with CP2K (DFT)",
                            description="Single points with CP2K at one settings preset.")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    label = actions.add_parser(
        "label", help="label frames with CP2K into a DeePMD npy system",
        description="Energy, forces and stress of every selected frame with CP2K; frames start "
        "from the previous frame's wavefunction, finished labels are kept and reused on a rerun, "
        "frames that fail (SCF not converged, crash, timeout) are listed in labels.json and never "
        "stored. Output: a DeePMD npy system with labels.json (settings, level of theory).")
    add_trajectory_options(label)
    label.add_argument("--out", required=True, type=Path, help="output system directory")
    label.add_argument("--preset", default="lips-pbe-d3", choices=sorted(PRESETS),
                       help="CP2K settings (default lips-pbe-d3, the papers' level)")
    label.add_argument("--cutoff", type=float, help="override the plane-wave cutoff (Ry)")
    label.add_argument("--smearing", type=float, metavar="K",
                       help="Fermi-Dirac electronic temperature (K) from the start, with up to "
                            "100 SCF steps, for liquid or metallic frames (a frame whose SCF fails "
                            "without it is retried at 300 K anyway)")
    label.add_argument("--mpi", type=positive_int, default=1, help="MPI ranks per frame")
    label.add_argument("--workdir", type=Path, help="where CP2K runs (default OUT/work; may be "
                       "deleted once the system is written)")
    label.add_argument("--timeout", type=float, help="seconds before a frame counts as failed")
    label.add_argument("--frames", default=":", help="Python slice of frames, e.g. 0:100:10")
    label.add_argument("--repeat", help="supercell of every frame, e.g. 1,1,2")
    label.add_argument("--volumes", help="equation of state: label each frame scaled to these "
                       "volume factors, e.g. 0.94,0.97,1,1.03,1.06")
    label.set_defaults(func=_label)

    compare = actions.add_parser(
        "compare", help="which level of theory stored labels carry (PBE or PBE-D3)",
        description="Compare a stored DeePMD npy system with ionscope's PBE relabelling of some of "
        "its frames (ionscope dft label STORED --preset lips-pbe --frames ...): the stored labels "
        "are PBE if they equal the fresh ones, PBE-D3 if they equal fresh + analytic D3.")
    compare.add_argument("stored", type=Path, help="the stored system")
    compare.add_argument("relabelled", type=Path, help="its frames relabelled at lips-pbe")
    compare.set_defaults(func=_compare)


def _compare(args: argparse.Namespace) -> int:
    ev = level_evidence(args.stored, args.relabelled)
    print(f"{ev.system}: {ev.frames} frame(s) of {ev.atoms} atoms")
    print("                 energy (meV/atom)  force RMS (meV/A)  stress max (GPa)")
    print(f"stored - PBE     {ev.energy_vs_pbe:17.2f}  {ev.force_vs_pbe:17.1f}  "
          f"{ev.stress_vs_pbe:16.2f}")
    print(f"stored - PBE-D3  {ev.energy_vs_pbe_d3:17.2f}  {ev.force_vs_pbe_d3:17.1f}  "
          f"{ev.stress_vs_pbe_d3:16.2f}")
    print(f"the stored labels are {ev.level}")
    return 0


def _numbers(text: str, option: str) -> list[float]:
    try:
        return [float(v) for v in text.split(",")]
    except ValueError:
        raise ValueError(f"{option} {text!r}: expected comma-separated numbers") from None


def _integers(text: str, option: str, count: int) -> tuple[int, ...]:
    values = _numbers(text, option)
    if len(values) != count or any(v != int(v) or v < 1 for v in values):
        raise ValueError(f"{option} {text!r}: expected {count} positive integers such as 1,1,2")
    return tuple(int(v) for v in values)


def _label(args: argparse.Namespace) -> int:
    settings = get_preset(args.preset)
    if args.cutoff is not None:
        settings = settings.model_copy(update={"cutoff": args.cutoff,
                                               "name": f"{settings.name}@{args.cutoff:g}Ry"})
    if args.smearing is not None:
        if not args.smearing >= 0:
            raise ValueError(f"--smearing {args.smearing:g}: expected an electronic temperature in K")
        settings = settings.model_copy(update={"smearing_K": args.smearing,
                                               "max_scf": max(settings.max_scf, 100)})
    trajectory = open_from_args(args)
    try:
        selected = range(trajectory.n_frames)[slice(*(int(p) if p else None
                                                     for p in args.frames.split(":")))]
    except (TypeError, ValueError):
        raise ValueError(f"--frames {args.frames!r}: expected a slice such as 0:100:10") from None
    frames = [trajectory.atoms(k) for k in selected]
    sources = [f"{args.trajectory}#{k}" for k in selected]
    if args.repeat:
        repeat = _integers(args.repeat, "--repeat", 3)
        frames = [atoms.repeat(repeat) for atoms in frames]
        sources = [f"{s} x{args.repeat}" for s in sources]
    if args.volumes:
        factors = _numbers(args.volumes, "--volumes")
        frames = [scaled for atoms in frames for scaled in volume_series(atoms, factors)]
        sources = [f"{s} V*{f:g}" for s in sources for f in factors]
    report = label_frames(frames, args.out, settings, mpi=args.mpi, timeout=args.timeout,
                          sources=sources, workdir=args.workdir)
    print(f"{len(report.labelled)} frames labelled at {settings.level_of_theory} "
          f"({report.reused} reused), {len(report.failed)} failed -> {args.out}")
    for index, reason in report.failed.items():
        print(f"  frame {index}: {reason}")
    return 1 if report.failed else 0
