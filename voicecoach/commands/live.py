"""`voicecoach start`, `voicecoach demo` and `voicecoach devices`: the live loop and its demo.

Heavy imports (numpy, sounddevice, vosk, pyttsx3) happen inside the command functions.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import Any

from voicecoach.commands.engine_options import add_engine_arguments
from voicecoach.errors import VoicecoachError
from voicecoach.shown import quoted

MIN_SPEED = 1.0
"""Slowest demo: real time (a whole session then takes its full half hour)."""
MAX_SPEED = 100_000.0
"""Fastest paced demo; 0 skips the waiting altogether."""


def register(subparsers: Any) -> None:
    start = subparsers.add_parser(
        "start",
        help="start a hands-free session with the microphone",
        description="Listen on the microphone and coach a session hands-free. "
        "Say a routine's name to begin (e.g. 'start hip routine'), or pass --routine.",
    )
    start.add_argument("--routine", metavar="NAME", help="start this routine at once")
    start.add_argument(
        "--device", metavar="D", help="input device: index or part of its name (see `devices`)"
    )
    add_engine_arguments(start)
    start.add_argument(
        "--no-checkins", action="store_true", help="do not ask how the stretch feels"
    )
    start.add_argument(
        "--events",
        metavar="FILE",
        type=Path,
        help="append what happens (cues, speech start/end, what was heard, intents, session "
        "events) to FILE as JSON lines, with monotonic-clock times",
    )
    start.set_defaults(func=_start)

    demo = subparsers.add_parser(
        "demo",
        help="run a whole scripted session without microphone or speakers",
        description="Run a real session through the real code path with no microphone or "
        "speakers: the coach's cues are synthesized, the person's commands are synthesized with "
        "espeak-ng at scripted moments, and the clock jumps over silent stretches. Writes "
        "DIR/session.wav and DIR/transcript.txt and prints the summary. The demo's sessions are "
        "recorded in DIR/history.sqlite3, never in your own history.",
    )
    demo.add_argument(
        "--out",
        metavar="DIR",
        default="out/demo",
        help="where to write session.wav, transcript.txt and the demo's history "
        "(default: ./out/demo)",
    )
    add_engine_arguments(demo)
    demo.add_argument(
        "--speed",
        metavar="X",
        default="200",
        help="session seconds per real second (default 200: a 10-minute hold takes 3 s; "
        f"{MIN_SPEED:g} is real time, at most {MAX_SPEED:g}; 0: no waiting at all)",
    )
    demo.add_argument(
        "--script",
        metavar="FILE",
        type=Path,
        help="a YAML scenario of what the person says, keyed to the coach's prompts or to "
        "session time (default: the built-in one; see voicecoach/data/scenarios/demo.yaml)",
    )
    demo.set_defaults(func=_demo)

    devices = subparsers.add_parser("devices", help="list audio input and output devices")
    devices.set_defaults(func=_devices)


def _start(args: argparse.Namespace) -> int:
    from voicecoach.app import run_live

    return run_live(
        routine=args.routine,
        device=args.device,
        model=args.model,
        engine=args.engine,
        checkins=not args.no_checkins,
        events_path=args.events,
    )


def _demo(args: argparse.Namespace) -> int:
    from voicecoach.demo import load_scenario, run_demo

    out_dir, speed = demo_out_dir(args.out), demo_speed(args.speed)
    script = load_scenario(args.script) if args.script is not None else None
    return run_demo(
        out_dir=out_dir,
        model=args.model,
        engine=args.engine or "auto",
        speed=speed,
        script=script,
        echo=sys.stdout,  # as it is now, not at import: the command line guards its writes
    )


def demo_out_dir(text: str) -> Path:
    """--out as given, refused (one line) when empty or when it is where the person's own
    history lives: the demo's scripted sessions never go into that."""
    from voicecoach.history import default_path

    if not text.strip():
        raise VoicecoachError(
            "--out needs a directory name (an empty one would be the current one)"
        )
    out = Path(text).expanduser()
    real = default_path()
    try:
        clash = out.resolve() == real.parent.resolve() or (out / real.name).resolve() == (
            real.resolve()
        )
    except OSError:
        clash = False
    if clash:
        raise VoicecoachError(
            f"--out {text} holds your own history ({real}); the demo records its sessions in "
            "DIR/history.sqlite3, so give another directory"
        )
    return out


def demo_speed(text: str) -> float:
    """--speed as a number: 0 (no waiting) or MIN_SPEED to MAX_SPEED session seconds per real
    second; anything else is one line (nan, -1, and 1e-9, which would never finish)."""
    try:
        speed = float(text)
    except ValueError:
        speed = math.nan
    if speed != 0 and not MIN_SPEED <= speed <= MAX_SPEED:  # nan fails both
        raise VoicecoachError(
            f"--speed must be 0 (no waiting) or from {MIN_SPEED:g} (real time) to {MAX_SPEED:g} "
            f"session seconds per real second (got {quoted(text)})"
        )
    return speed


def _devices(_args: argparse.Namespace) -> int:
    from voicecoach.hearing.audio import format_devices

    print(format_devices())
    return 0
