"""The ``ionscope`` command line: one subcommand per stage of the workflow."""

from __future__ import annotations

import argparse
import sys

from . import convert, demo, dft, md, potential, report, run, softness, structure

_COMMANDS = (demo, run, structure, convert, dft, potential, md, softness, report)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ionscope",
        description="From DFT data to lithium-ion transport in disordered thiophosphates.")
    from .. import __version__

    parser.add_argument("--version", action="version", version=f"ionscope {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in _COMMANDS:
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (FileNotFoundError, ValueError) as exc:
        print(f"ionscope {args.command}: error: {exc}", file=sys.stderr)
        return 2

