"""``ionscope softness``: learn the softness of Li from a trajectory (or apply a saved model)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..analysis.softness import RadialFeatures, SoftnessModel
from ..workflow.softness import softness_study
from .common import add_trajectory_options, open_from_args


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "softness", help="machine-learned softness of Li ions from a trajectory",
        description="Label Li as mobile/immobile by their cumulative non-affine displacement "
        "D_cum, learn a logistic-regression hyperplane on radial structure functions of the first "
        "frame (or apply --model), and relate softness to anion units and Voronoi volume.")
    add_trajectory_options(parser)
    parser.add_argument("--out", type=Path, default=Path("ionscope-softness"))
    parser.add_argument("--increment", type=float, default=1.0, help="D2min time increment (ps)")
    parser.add_argument("--radius", type=float, default=5.0, help="D2min neighbourhood (Å)")
    parser.add_argument("--r-cutoff", type=float, default=10.0, help="feature cutoff (Å)")
    parser.add_argument("--dr", type=float, default=0.2, help="feature grid spacing (Å)")
    parser.add_argument("--model", type=Path, help="a saved softness model to apply")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--energy-model", type=Path,
                        help="DeePMD model for per-atom energies (correlated with softness)")
    parser.add_argument("--axis", type=int, choices=(0, 1, 2),
                        help="glass-ceramic axis: softness and q6bar profiles, softness per region")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    model, features = None, RadialFeatures(r_cutoff=args.r_cutoff, dr=args.dr)
    if args.model:
        model, meta = SoftnessModel.load(args.model)
        features = RadialFeatures(**meta["features"])
    summary = softness_study(open_from_args(args), args.out, increment_ps=args.increment,
                             radius=args.radius, features=features, seed=args.seed, model=model,
                             axis=args.axis, energy_model=args.energy_model)
    if "test_accuracy" in summary:
        print(f"held-out accuracy {summary['test_accuracy']:.3f} (chance {summary['chance']:.3f}, "
              f"train {summary['train_accuracy']:.3f}, C = {summary['C']:g})")
    for name, c in summary["correlations"].items():
        print(f"softness vs {name}: r = {c['pearson_r']:+.2f}")
    print(f"results in {args.out}")
    return 0
