"""The ``ionscope`` command line: one subcommand per stage of the workflow."""

from __future__ import annotations

import argparse
import shlex
import signal
import sys
import threading

from .. import __version__
from . import convert, demo, dft, md, potential, report, run, softness, structure

_COMMANDS = (demo, run, structure, convert, dft, potential, md, softness, report)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ionscope",
        description="From DFT data to lithium-ion transport in disordered thiophosphates.")

    parser.add_argument("--version", action="version", version=f"ionscope {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in _COMMANDS:
        module.register(sub)
    return parser


def _terminate(signum, frame):
    raise KeyboardInterrupt(f"stopped by signal {signal.Signals(signum).name}")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    in_main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _terminate) if in_main else None
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt as exc:     # Ctrl-C or SIGTERM: say what stopped and how to go on
        again = shlex.join(["ionscope", *(sys.argv[1:] if argv is None else argv)])
        print(f"\nionscope {args.command}: interrupted{f': {exc}' if str(exc) else ''}\n"
              f"run the same command again to resume: {again}", file=sys.stderr)
        return 130
    except (FileNotFoundError, ValueError) as exc:
        print(f"ionscope {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except RuntimeError as exc:          # a failed MD run or task, a folder in use
        print(f"ionscope {args.command}: error: {exc}", file=sys.stderr)
        return 1
    finally:
        if in_main:
            signal.signal(signal.SIGTERM, previous)

