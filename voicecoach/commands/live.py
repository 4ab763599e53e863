"""`voicecoach start`, `voicecoach demo` and `voicecoach devices`: the live loop and its demo.

Heavy imports (numpy, sounddevice, vosk, pyttsx3) happen inside the command functions.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


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
    start.add_argument("--model", metavar="DIR", type=Path, help="Vosk model directory")
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
        type=Path,
        default=Path("out/demo"),
        help="where to write session.wav, transcript.txt and the demo's history "
        "(default: ./out/demo)",
    )
    demo.add_argument("--model", metavar="DIR", type=Path, help="Vosk model directory")
    demo.add_argument(
        "--speed",
        metavar="X",
        type=float,
        default=200.0,
        help="session seconds per real second (default 200: a 10-minute hold takes 3 s; "
        "0: no waiting at all)",
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
        checkins=not args.no_checkins,
        events_path=args.events,
    )


def _demo(args: argparse.Namespace) -> int:
    from voicecoach.demo import run_demo

    return run_demo(out_dir=args.out, model=args.model, speed=args.speed)


def _devices(_args: argparse.Namespace) -> int:
    from voicecoach.audio import format_devices

    print(format_devices())
    return 0
