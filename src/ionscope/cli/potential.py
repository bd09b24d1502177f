"""``ionscope potential train|test|compress``: DeePMD-kit potentials from DeePMD npy data."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from ..dft.curate import curate, curation_table
from ..io.tables import write_csv
from ..potential import resolve_potential
from ..potential.dataset import find_systems
from ..potential.deepmd import compress
from ..potential.ensemble import model_deviation
from ..potential.linear import Pod, Snap, train_linear
from ..potential.neural import NeuralSnap, train_neural
from ..potential.pod import train_pod
from ..potential.validation import validation_table, write_validation
from ..potential.workflow import train_deepmd
from ..workflow.learn import LearnPlan, run_plan
from ..workflow.potential_checks import validate_physics
from .common import add_trajectory_options, open_from_args, positive_int


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("potential", help="train, validate and compress potentials (DeePMD, POD)",
                            description="Train, validate and compress DeePMD-kit potentials, and fit "
                            "fast linear POD potentials with LAMMPS fitpod.")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

    train = actions.add_parser("train", help="split the data, train, freeze, compress, validate",
                               description="Split the DFT data per system into time blocks, "
                               "train a DeePMD model, freeze and compress it, and validate it "
                               "on the held-out frames of every system.")
    train.add_argument("--data", required=True, type=Path, nargs="+",
                       help="directories of DeePMD npy systems (e.g. curated data and CP2K labels)")
    train.add_argument("--workdir", required=True, type=Path, help="output directory")
    train.add_argument("--kind", choices=["deepmd", "pod", "nnsnap"], default="deepmd",
                       help="deepmd (reference), pod (fast linear POD) or nnsnap (a neural "
                       "network on the explicit multi-element SNAP bispectrum, run by ML-IAP)")
    train.add_argument("--fit", choices=["ridge", "fitpod"], default="ridge",
                       help="pod: our weighted ridge regression on energies, forces and virials "
                       "with a 4-member bootstrap committee (default), or LAMMPS fitpod "
                       "(energies and forces only)")
    train.add_argument("--label-weight", type=float, default=10.0,
                       help="pod ridge and nnsnap: weight of the frames of CP2K label systems (fewer than "
                       "10 frames: equations of state, learning-loop labels)")
    train.add_argument("--exclude", nargs="+", default=[], metavar="SYSTEM",
                       help="pod ridge and nnsnap: leave these systems out (by folder name), e.g. AIMD "
                       "systems computed in too small a cell at Γ only")
    train.add_argument("--preset", help="deepmd: paper | small | tiny (default paper); "
                       "pod: fast | accurate (default fast)")
    train.add_argument("--stride", type=int, default=3,
                       help="pod and nnsnap: fit every n-th training frame")
    train.add_argument("--stride-of", type=_system_stride, action="append", default=[],
                       metavar="SYSTEM=N",
                       help="pod ridge and nnsnap: another stride for one system, e.g. "
                            "glass-iter0-000=2 (repeat the option for several)")
    train.add_argument("--epochs", type=int, default=200, help="nnsnap: training epochs")
    train.add_argument("--hidden", type=int, nargs="+", default=[32, 32],
                       help="nnsnap: hidden layer widths")
    train.add_argument("--twojmax", type=int, default=2, help="nnsnap: SNAP 2J_max")
    train.add_argument("--cutoff", type=float, default=4.5, help="nnsnap: SNAP cutoff (Å)")
    train.add_argument("--dispersion", type=float, default=0.0, metavar="CUTOFF",
                       help="nnsnap: fit beside an explicit D3(0) term with pairs to CUTOFF Å, "
                            "which LAMMPS adds in MD (pair_style dispersion/d3; 0: none)")
    train.add_argument("--batch-frames", type=int, default=2,
                       help="nnsnap: frames per Adam step")
    train.add_argument("--members", type=int, default=4,
                       help="pod ridge and nnsnap: committee members")
    train.add_argument("--steps", type=int, default=100_000, help="training steps")
    train.add_argument("--seed", type=int, default=1, help="seed of the network and batches")
    train.add_argument("--split-seed", type=int, default=0, help="seed of the validation split")
    train.add_argument("--valid-fraction", type=float, default=0.1)
    train.add_argument("--skip-neighbor-stat", action="store_true",
                       help="skip DeePMD's neighbour statistics (saves minutes on large data)")
    train.add_argument("--no-compress", action="store_true", help="keep only the frozen model")
    train.add_argument("--restart", action="store_true", help="resume from the last checkpoint")
    train.set_defaults(func=_train)

    test = actions.add_parser("test", help="RMSE per system of a model on DeePMD npy systems",
                              description="Energy, force and virial RMSE per system, with a "
                              "table, JSON and parity plots.")
    test.add_argument("model", help="bundled name, DeePMD model (.pth), or a POD, SNAP or "
                      "NN-SNAP directory")
    test.add_argument("--data", required=True, type=Path, help="directory of DeePMD npy systems")
    test.add_argument("--out", required=True, type=Path, help="output directory")
    test.set_defaults(func=_test)

    val = actions.add_parser("validate", help="physical checks in LAMMPS (crystal, bonds, melt)",
                             description="Short LAMMPS runs: beta-Li3PS4 NPT at 300 and 600 K "
                             "(volume within 3 % of PBE-D3's at that temperature, or with "
                             "--pressure-reference experiment every lattice parameter within 3 % "
                             "of the CIF; P-S bond 2.03-2.10 A, S-P-S peak 107-112 deg) and a "
                             "1500 K melt without collapse.")
    val.add_argument("model", nargs="?", help="bundled name, DeePMD model (.pth) or POD "
                     "directory (default: the bundled default potential)")
    val.add_argument("--workdir", required=True, type=Path)
    val.add_argument("--compressed", action="store_true", help="DeePMD: use the compressed model")
    val.add_argument("--pressure-reference", choices=["dft", "experiment"], default="dft",
                     help="NPT at 1 bar (dft) or at 1 bar + the potential's own pressure of the "
                     "CIF cell (experiment, Lee & Wan 2008)")
    val.add_argument("--mpi", type=positive_int, default=1, help="MPI ranks of every run")
    val.set_defaults(func=_validate)

    dev = actions.add_parser("deviation", help="model deviation of an ensemble along a trajectory",
                             description="DP-GEN maximum force deviation per frame of models "
                             "trained with different seeds: where it is large the potential "
                             "extrapolates. Writes a CSV.")
    dev.add_argument("models", nargs="+", type=Path, help="two or more DeePMD models")
    add_trajectory_options(dev, positional=False)
    dev.add_argument("--out", type=Path, default=Path("model_devi.csv"))
    dev.add_argument("--step", type=int, default=1)
    dev.set_defaults(func=_deviation)

    cur = actions.add_parser(
        "curate", help="bring DFT data to one level of theory (add/remove analytic D3)",
        description="Write a copy of every DeePMD npy system below DATA at one level of theory, "
        "adding or removing the analytic D3(0) energy, forces and virial per system, with "
        "curation.md / curation.json saying what was changed. A system's level comes from its "
        "labels.json (ionscope labels) or from --level patterns (default: the Li-P-S data of "
        "Chen et al. 2025: glass-iter* PBE-D3(0), the rest PBE; docs/level-of-theory.md).")
    cur.add_argument("data", type=Path, help="directory of DeePMD npy systems")
    cur.add_argument("--out", required=True, type=Path, help="output directory")
    cur.add_argument("--target", default="PBE-D3(0)", choices=["PBE", "PBE-D3(0)"])
    cur.add_argument("--level", action="append", default=[], metavar="PATTERN=LEVEL",
                     help="level of systems whose name matches PATTERN (repeatable; replaces "
                     "the default table)")
    cur.set_defaults(func=_curate)

    learn = actions.add_parser(
        "learn", help="active learning: explore with a committee, label with CP2K, refit",
        description="DP-GEN-style loop from a TOML plan (data, committee size, CP2K preset, "
        "trust levels, [[explore]] MD tasks): committee force deviation on explored frames, "
        "frames between the trust levels labelled with CP2K, committee refitted on the data "
        "plus every label. Resumable; iterations.csv has one row per iteration.")
    learn.add_argument("plan", type=Path, help="learning plan (TOML)")
    learn.add_argument("--workdir", required=True, type=Path)
    learn.set_defaults(func=_learn)

    comp = actions.add_parser("compress", help="tabulate a frozen model for fast inference",
                              description="Compress a frozen DeePMD model (dp compress).")
    comp.add_argument("model", type=Path)
    comp.add_argument("--out", required=True, type=Path)
    comp.add_argument("--training-input", type=Path,
                      help="input.json of the training, to recompute the minimum distance")
    comp.set_defaults(func=_compress)


def _system_stride(text: str) -> tuple[str, int]:
    name, _, n = text.partition("=")
    if not name or not n.isdigit() or int(n) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: give SYSTEM=N with N ≥ 1")
    return name, int(n)


def _train(args: argparse.Namespace) -> int:
    strides = dict(args.stride_of)
    if args.kind == "nnsnap":
        net = NeuralSnap(Snap(twojmax=args.twojmax, rcutfac=args.cutoff, chem=True),
                         tuple(args.hidden), dispersion=args.dispersion)
        result = train_neural(args.data, args.workdir, net, stride=args.stride,
                              label_weight=args.label_weight, members=args.members,
                              epochs=args.epochs, batch_frames=args.batch_frames,
                              seed=args.seed, split_seed=args.split_seed,
                              valid_fraction=args.valid_fraction, exclude=args.exclude,
                              strides=strides, progress=True, log=print)
        print(validation_table(result))
        print(f"NN-SNAP potential (model.mliap.*, committee/) and validation written to "
              f"{args.workdir}")
        return 0
    if args.kind == "pod" and args.fit == "ridge":
        result = train_linear(args.data, args.workdir, Pod.from_preset(args.preset or "fast"),
                              stride=args.stride, members=args.members,
                              label_weight=args.label_weight, seed=args.seed,
                              split_seed=args.split_seed, valid_fraction=args.valid_fraction,
                              exclude=args.exclude, strides=strides, progress=True)
        print(validation_table(result))
        print(f"POD potential (param.pod, coefficients.pod, committee/) and validation written "
              f"to {args.workdir}")
        return 0
    if args.kind == "pod":
        result = train_pod(args.data, args.workdir, preset=args.preset or "fast",
                           stride=args.stride, split_seed=args.split_seed,
                           valid_fraction=args.valid_fraction, progress=True)
        print(validation_table(result))
        print(f"POD potential (param.pod, coefficients.pod) and validation written to {args.workdir}")
        return 0
    result = train_deepmd(args.data, args.workdir, preset=args.preset or "paper", steps=args.steps,
                          seed=args.seed, split_seed=args.split_seed,
                          valid_fraction=args.valid_fraction,
                          skip_neighbor_stat=args.skip_neighbor_stat,
                          compress=not args.no_compress, restart=args.restart)
    print(validation_table(result))
    print(f"model and validation written to {args.workdir}")
    return 0


def _test(args: argparse.Namespace) -> int:
    potential = resolve_potential(args.model)
    systems = find_systems(args.data)
    result = potential.evaluate(systems, progress=True)
    write_validation(result, args.out)
    print(validation_table(result))
    return 0


def _validate(args: argparse.Namespace) -> int:
    potential = resolve_potential(args.model, compressed=args.compressed)
    result = validate_physics(potential, args.workdir, progress=True,
                              pressure_reference=args.pressure_reference, mpi_ranks=args.mpi)
    for name, ok in result["checks"].items():
        print(f"{'PASS' if ok else 'FAIL'}  {name}")
    return 0 if result["passed"] else 1


def _deviation(args: argparse.Namespace) -> int:
    out = model_deviation(args.models, open_from_args(args), step=args.step)
    write_csv(args.out, ["frame", "max_devi_f", "min_devi_f", "avg_devi_f", "devi_e"],
              [out["frames"], out["max_devi_f"], out["min_devi_f"], out["avg_devi_f"], out["devi_e"]])
    print(f"max force deviation: median {np.median(out['max_devi_f']):.3f}, "
          f"max {out['max_devi_f'].max():.3f} eV/Å over {len(out['frames'])} frames -> {args.out}")
    return 0


def _curate(args: argparse.Namespace) -> int:
    levels = None
    if args.level:
        pairs = [item.partition("=") for item in args.level]
        bad = [item for item, (_, eq, value) in zip(args.level, pairs) if not eq or not value]
        if bad:
            raise ValueError(f"--level {bad[0]!r}: expected PATTERN=LEVEL, e.g. 'glass*=PBE-D3(0)'")
        levels = {pattern: value for pattern, _, value in pairs}
    rows = curate(args.data, args.out, target=args.target, levels=levels)
    print(curation_table(rows, args.target, args.data))
    print(f"curated data and curation.md written to {args.out}")
    return 0


def _learn(args: argparse.Namespace) -> int:
    rows = run_plan(LearnPlan.load(args.plan), args.workdir)
    for row in rows:
        print(", ".join(f"{k} {v}" for k, v in row.items()))
    print(f"iterations table: {args.workdir / 'iterations.csv'}")
    return 0


def _compress(args: argparse.Namespace) -> int:
    print(compress(args.model, args.out, training_input=args.training_input))
    return 0
