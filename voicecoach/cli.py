"""The `voicecoach` command line: one subcommand per job, each defined in voicecoach.commands.

Every VoicecoachError becomes one line on stderr and a non-zero exit; no traceback reaches the
person.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import os
import sys
from collections.abc import Sequence
from typing import Any

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


class StdoutError(VoicecoachError):
    """Standard output could not be written (`voicecoach routines > /dev/full`): one line."""


class _GuardedStdout:
    """sys.stdout while a command runs: a write that fails (other than a reader gone away) is
    a StdoutError saying so, not a traceback from somewhere in the command."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def _guard(self, call: Any, *args: Any) -> Any:
        try:
            return call(*args)
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise StdoutError(
                f"cannot write the output: {exc.strerror or exc}; nothing else was changed"
            ) from None

    def write(self, text: str) -> int:
        return int(self._guard(self._stream.write, text))

    def flush(self) -> None:
        self._guard(self._stream.flush)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def _drop_stdout() -> None:
    """Point fd 1 at /dev/null: what is still buffered for a reader that has gone, or a disk
    that is full, must not fail again (with a traceback) when Python flushes it at exit."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


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
    real_stdout = sys.stdout
    sys.stdout = _GuardedStdout(real_stdout)  # type: ignore[assignment]
    try:
        code = int(args.func(args) or 0)
        sys.stdout.flush()
        return code
    except BrokenPipeError:
        # `voicecoach routines | head`: the reader has gone, which is not an error.
        sys.stdout = real_stdout
        _drop_stdout()
        return 0
    except VoicecoachError as exc:
        sys.stdout = real_stdout
        if isinstance(exc, StdoutError):
            with contextlib.suppress(OSError, ValueError):
                _drop_stdout()
        # Escaped: a message may quote a file name, a setting or a line of a file.
        print(f"voicecoach: {escape(str(exc))}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("voicecoach: interrupted", file=sys.stderr)
        return 130
    finally:
        sys.stdout = real_stdout
