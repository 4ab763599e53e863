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
from pathlib import Path
from typing import Any

from voicecoach.commands.engine_options import add_engine_arguments
from voicecoach.errors import VoicecoachError
from voicecoach.messages import Utterance
from voicecoach.shown import escape

_LOGGER = logging.getLogger(__name__)

SAMPLE_TEXT = "add five minutes"
MAX_SAMPLE_CHARS = 200
"""Longest --sample text: a command is a few words, and espeak-ng would read a book aloud."""
COMMAND_SECONDS = 30.0
"""Longest file `recognize` reads: a spoken command lasts a few seconds (the longest phrase of
the grammar takes under 4 s), so half a minute leaves room for silence around it."""
COMMAND_BYTES = 32_000_000
"""Most audio data `recognize` reads from one file: 30 s of 192 kHz stereo 16-bit is 23 MB,
while 8 channels of 32 bits would be 184 MB (a 3.65 GB file within every other bound took
204 s)."""
_WHY = ": a command is a few seconds long"
NO_SOUND_PEAK = 1
"""Audio whose samples all stay within this many steps of zero holds no sound (digital silence,
at most dither), and nothing is heard in it. espeak-ng writes such a file for text it has no
words for ("…", "---", a symbol it has no name for); it does speak the names of the emoji it
knows ("😀" is "grinning face")."""


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

    from voicecoach.commands.engine_options import choose
    from voicecoach.hearing.asr import open_engine
    from voicecoach.scratch import scratch_dir

    with scratch_dir("sample") as tmp:
        # The sample first: text espeak-ng has no words for is refused before the model loads.
        sample = None if args.sample is None else _synthesize(args.sample, Path(tmp) / "sample.wav")
        choice = choose(args)  # reads config.toml only for what the flags leave open
        print(f"voicecoach: {choice.describe()}", file=sys.stderr)
        recognizer = open_engine(choice, _grammar())
        if sample is not None:
            path, phonemes = sample
            if not args.json:
                said = f", said as [{phonemes}]" if phonemes else ""
                print(f'synthesized "{args.sample}" with espeak-ng{said}: {path}')
            files.insert(0, str(path))
        failed = 0
        for name in files:
            if not _recognize_one(recognizer, name, args.json):
                failed += 1
    if failed:
        print(f"voicecoach: {failed} of {len(files)} files could not be read", file=sys.stderr)
        return 1
    return 0


def _recognize_one(recognizer: Any, name: str, as_json: bool) -> bool:
    from voicecoach.hearing.wavio import read_wav

    try:
        pcm = read_wav(name, max_seconds=COMMAND_SECONDS, max_bytes=COMMAND_BYTES, why=_WHY)
    except VoicecoachError as exc:
        print(f"voicecoach: {escape(str(exc))}", file=sys.stderr)
        return False
    silent = no_sound(pcm)
    if silent:
        # Nothing can be heard in it: not given to the engine, which may still force such audio
        # onto some phrase of the grammar (0.3 s of zeros was decoded as "ow").
        utterance = Utterance("", None, 0.0, 0.0, engine=recognizer.name)
    else:
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
        if silent:
            heard = "(no sound in it)"
        meaning = intent.name if intent else "not a command"
        if intent and intent.slots:
            meaning += " " + " ".join(f"{k}={v}" for k, v in intent.slots.items())
        print(
            escape(
                f"{name}: {heard} -> {meaning} "
                f"(confidence {utterance.confidence:.2f}, {utterance.decode_ms:.0f} ms)"
            ),
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


def no_sound(pcm: Any) -> bool:
    """Whether audio holds no sound at all (see NO_SOUND_PEAK)."""
    import numpy as np

    return pcm.size == 0 or int(np.max(np.abs(pcm.astype(np.int32)))) <= NO_SOUND_PEAK


def _synthesize(text: str, path: Path) -> tuple[Path, str]:
    """The WAV espeak-ng writes for `text`, and the phonemes it said (empty if it cannot say);
    text it has no words for (only silence comes out) is one VoicecoachError."""
    from voicecoach.hearing.wavio import read_wav

    binary = shutil.which("espeak-ng")
    if binary is None:
        raise VoicecoachError("--sample needs espeak-ng: run scripts/setup to install it")
    # "--": text that starts with "-" ("--help") is words to say, not an espeak-ng option.
    proc = subprocess.run(
        [binary, "-v", "en-us", "-w", str(path), "--", text],
        capture_output=True,
        stdin=subprocess.DEVNULL,
    )
    if proc.returncode != 0 or not path.is_file():
        detail = proc.stderr.decode(errors="replace").strip().splitlines()[:1]
        raise VoicecoachError(f"espeak-ng could not synthesize the sample: {detail or 'no output'}")
    if no_sound(read_wav(path)):
        raise VoicecoachError(
            f"espeak-ng has no words for --sample {text!r} (it wrote only silence): "
            "give it a command to say, e.g. --sample 'skip'"
        )
    ipa = subprocess.run(
        [binary, "-v", "en-us", "-q", "--ipa", "--", text],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    phonemes = " ".join(ipa.stdout.split()) if ipa.returncode == 0 else ""
    return path, phonemes


def _grammar() -> Any:
    """The command grammar with the person's routine names, or without them if they fail."""
    from voicecoach.hearing.grammar import load_grammar

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
