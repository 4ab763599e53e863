"""`voicecoach recognize`: WAV files (or a sample synthesized with espeak-ng) to grammar intents.

Heavy imports (numpy, vosk) happen inside the command function.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from voicecoach.commands.engine_options import add_engine_arguments
from voicecoach.errors import VoicecoachError

_LOGGER = logging.getLogger(__name__)

SAMPLE_TEXT = "add five minutes"
MAX_SAMPLE_CHARS = 200
"""Longest --sample text: a command is a few words, and espeak-ng would read a book aloud."""


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "recognize",
        help="recognize spoken commands in WAV files",
        description="Recognize the command spoken in each WAV file (any sample rate and channel "
        "count) with the speech engine (Vosk where its model is installed, else PocketSphinx) and "
        "the command grammar. Speech that is not a command gives "
        "no intent.",
    )
    parser.add_argument("files", nargs="*", metavar="FILE", help="WAV files")
    parser.add_argument(
        "--json", action="store_true", help="one JSON object per line per file (for scripts)"
    )
    add_engine_arguments(parser)
    parser.add_argument(
        "--sample",
        nargs="?",
        const=SAMPLE_TEXT,
        metavar="TEXT",
        help=f'synthesize TEXT (default "{SAMPLE_TEXT}") with espeak-ng and recognize it',
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    files: list[str] = list(args.files)
    if not files and args.sample is None:
        raise VoicecoachError("give one or more WAV files, or --sample to try a synthesized one")
    if args.sample is not None:
        _check_sample_text(args.sample)  # before seconds are spent loading the model

    from voicecoach.asr import open_engine
    from voicecoach.commands.engine_options import choose

    choice = choose(args)  # reads config.toml only for what the flags leave open
    print(f"voicecoach: {choice.describe()}", file=sys.stderr)
    recognizer = open_engine(choice, _grammar())

    with tempfile.TemporaryDirectory(prefix="voicecoach-sample-") as tmp:
        if args.sample is not None:
            sample = _synthesize(args.sample, Path(tmp) / "sample.wav")
            if not args.json:
                print(f'synthesized "{args.sample}" with espeak-ng: {sample}')
            files.insert(0, str(sample))
        failed = 0
        for name in files:
            if not _recognize_one(recognizer, name, args.json):
                failed += 1
    if failed:
        print(f"voicecoach: {failed} of {len(files)} files could not be read", file=sys.stderr)
        return 1
    return 0


def _recognize_one(recognizer: Any, name: str, as_json: bool) -> bool:
    from voicecoach.wavio import read_wav

    try:
        pcm = read_wav(name)
    except VoicecoachError as exc:
        print(f"voicecoach: {exc}", file=sys.stderr)
        return False
    utterance = recognizer.decode(pcm)
    intent = utterance.intent
    record = {
        "file": name,
        "text": utterance.text,
        "intent": intent.name if intent else None,
        "slots": dict(intent.slots) if intent else {},
        "confidence": round(float(utterance.confidence), 4),
        "decode_ms": round(float(utterance.decode_ms), 2),
        "engine": recognizer.name,
    }
    if as_json:
        print(json.dumps(record), flush=True)
    else:
        heard = f'"{utterance.text}"' if utterance.text else "(nothing)"
        meaning = intent.name if intent else "not a command"
        if intent and intent.slots:
            meaning += " " + " ".join(f"{k}={v}" for k, v in intent.slots.items())
        print(
            f"{name}: {heard} -> {meaning} "
            f"(confidence {utterance.confidence:.2f}, {utterance.decode_ms:.0f} ms)",
            flush=True,
        )
    return True


def _check_sample_text(text: str) -> None:
    if not text.strip():
        raise VoicecoachError("--sample needs some words to say, e.g. --sample 'skip'")
    if len(text) > MAX_SAMPLE_CHARS:
        raise VoicecoachError(
            f"--sample text is {len(text)} characters, more than {MAX_SAMPLE_CHARS}: "
            "a command is a few words"
        )


def _synthesize(text: str, path: Path) -> Path:
    binary = shutil.which("espeak-ng")
    if binary is None:
        raise VoicecoachError("--sample needs espeak-ng: run scripts/setup to install it")
    # "--": text that starts with "-" ("--help") is words to say, not an espeak-ng option.
    proc = subprocess.run([binary, "-v", "en-us", "-w", str(path), "--", text], capture_output=True)
    if proc.returncode != 0 or not path.is_file():
        detail = proc.stderr.decode(errors="replace").strip().splitlines()[:1]
        raise VoicecoachError(f"espeak-ng could not synthesize the sample: {detail or 'no output'}")
    return path


def _grammar() -> Any:
    """The command grammar with the person's routine names, or without them if they fail."""
    from voicecoach.grammar import load_grammar

    try:
        from voicecoach.routines import RoutineLibrary

        names = RoutineLibrary.load().spoken_names()
    except (ImportError, VoicecoachError) as exc:
        _LOGGER.warning("routine names not loaded (%s); using the built-in ones", exc)
        return load_grammar()
    try:
        return load_grammar(routine_names=names)
    except VoicecoachError as exc:
        print(f"voicecoach: warning: {exc}; using the built-in routine names", file=sys.stderr)
        return load_grammar()
