"""The `voicecoach` command line: one subcommand per job, each defined in voicecoach.commands.

Every VoicecoachError becomes one line on stderr and a non-zero exit; no traceback reaches the
person.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Sequence

from voicecoach.errors import VoicecoachError
from voicecoach.shown import escape

# Each module has `register(subparsers)`, which adds its subcommands and sets `func(args) -> int`.
# Heavy imports (vosk, numpy, sounddevice) happen inside those functions, not at import time.
COMMAND_MODULES = (
    "voicecoach.commands.recognize",
    "voicecoach.commands.routines",
    "voicecoach.commands.live",
    "voicecoach.commands.history",
    "voicecoach.commands.doctor",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="voicecoach", description="Offline, hands-free voice coach for hip and psoas release."
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log details to stderr")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        code = int(args.func(args) or 0)
        sys.stdout.flush()
        return code
    except BrokenPipeError:
        # `voicecoach routines | head`: the reader has gone, which is not an error; keep Python
        # from failing again when it flushes stdout at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return 0
    except VoicecoachError as exc:
        # Escaped: a message may quote a file name, a setting or a line of a file.
        print(f"voicecoach: {escape(str(exc))}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("voicecoach: interrupted", file=sys.stderr)
        return 130
