"""Options shared by several subcommands."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..io import open_trajectory


def add_trajectory_options(parser: argparse.ArgumentParser, positional: bool = True) -> None:
    help_text = "LAMMPS dump, H5MD, extxyz/.traj, CIF or a DeePMD npy system directory"
    if positional:
        parser.add_argument("trajectory", type=Path, help=help_text)
    else:
        parser.add_argument("--trajectory", type=Path, required=True, help=help_text)
    parser.add_argument("--format", help="force the format (lammps-dump, h5md, deepmd-npy, ase)")
    parser.add_argument("--type-map", help="symbols of LAMMPS types 1, 2, ..., e.g. Li,P,S")
    parser.add_argument("--md-timestep", type=float, help="MD timestep in ps (LAMMPS dumps)")
    parser.add_argument("--frame-interval", type=float, help="ps between stored frames")


def open_from_args(args: argparse.Namespace):
    type_map = [s.strip() for s in args.type_map.split(",")] if args.type_map else None
    return open_trajectory(args.trajectory, format=args.format, type_map=type_map,
                           md_timestep=args.md_timestep, frame_interval=args.frame_interval)


def positive_int(text: str) -> int:
    """An argparse type: an integer ≥ 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def count(text: str) -> int:
    """An argparse type: an integer ≥ 0."""
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text}")
    return value
