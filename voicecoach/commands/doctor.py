"""`voicecoach doctor`: what the coach would use on this machine, and what to do about any gap.

One line per part: the engine and its model (and where that came from), the speech voice, the
microphone and loudspeaker, config.toml and the history. Exit 0 when the coach can run a live
session; otherwise 1, after the lines that say what to fix.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from voicecoach.errors import VoicecoachError


@dataclass(frozen=True)
class Finding:
    """One line of the report."""

    part: str
    """What was looked at: "engine", "microphone", ..."""
    text: str
    """What was found, or what to do about it."""
    problem: bool = False
    """True when the coach cannot run a live session until this is fixed."""

    def line(self) -> str:
        """The report line, escaped: a device name or a path may hold control characters."""
        from voicecoach.shown import escape

        mark = "PROBLEM" if self.problem else "ok"
        return escape(f"{mark:<8}{self.part}: {self.text}")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "doctor",
        help="check the engine, model, voice, audio devices, config and history",
        description="Say, one line each, what the coach would use here (engine and model and "
        "where they come from, the speech voice, the audio devices, config and history paths) "
        "and what to do about anything missing. Exit status 0 when the coach can run.",
    )
    from voicecoach.commands.engine_options import add_engine_arguments

    add_engine_arguments(parser)
    parser.add_argument(
        "--device", metavar="D", help="input device to check: index or part of its name"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    findings = list(examine(args))
    for finding in findings:
        print(finding.line(), flush=True)
    problems = [f for f in findings if f.problem]
    if problems:
        parts = ", ".join(f.part for f in problems)
        print(
            f"voicecoach doctor: the coach cannot run here until this is fixed: {parts}",
            file=sys.stderr,
        )
        return 1
    return 0


def examine(args: argparse.Namespace) -> Iterator[Finding]:
    config, config_finding = _config()
    yield config_finding
    yield from _guarded("engine", lambda: _engine(args))
    yield from _guarded("speech", lambda: _speech(config))
    yield from _guarded("audio", lambda: _audio(config, getattr(args, "device", None)))
    yield from _guarded("history", _history)


def _guarded(part: str, check: Callable[[], Iterator[Finding]]) -> Iterator[Finding]:
    """A check that fails unexpectedly is itself a finding, never a traceback."""
    try:
        yield from check()
    except VoicecoachError as exc:
        yield Finding(part, str(exc), problem=True)
    except Exception as exc:  # a doctor reports what breaks; it must not break itself
        yield Finding(part, f"could not be checked ({type(exc).__name__}: {exc})", problem=True)


def _config() -> tuple[Any, Finding]:
    from voicecoach.config import Config, config_path, load_config

    path = config_path()
    try:
        config = load_config(path)
    except VoicecoachError as exc:
        return Config(), Finding("config", f"{exc}; fix or delete it", problem=True)
    if not path.exists():
        return config, Finding("config", f"{path} (not present: the defaults apply)")
    return config, Finding("config", str(path))


def _engine(args: argparse.Namespace) -> Iterator[Finding]:
    from voicecoach.commands.engine_options import choose
    from voicecoach.commands.recognize import _grammar
    from voicecoach.hearing.asr import FETCH_VOSK, open_engine, vosk_installed

    choice = choose(args)
    grammar = _grammar()
    started = time.perf_counter()
    # Really load it: a model that is there but broken (or, for Whisper's, differs from the
    # manifest's checksum) shows here.
    engine = open_engine(choice, grammar)
    seconds = time.perf_counter() - started
    line = f"{choice.engine}, model {choice.model_dir} (from {choice.origin})"
    if choice.engine == "whisper":
        line = f"{choice.engine}, model {engine.model_description} (from {choice.origin})"
    if choice.why:
        line += f"; {choice.why}"
    yield Finding("engine", f"{line}; loads in {seconds:.2f} s")
    if choice.engine == "pocketsphinx" and not vosk_installed():
        yield Finding(
            "vosk", f"no Vosk model installed (optional): {FETCH_VOSK} gets the better engine"
        )


def _speech(config: Any) -> Iterator[Finding]:
    if shutil.which("espeak-ng") is None:
        yield Finding(
            "speech", "espeak-ng is not installed: run scripts/setup (it installs it)", problem=True
        )
        return
    import pyttsx3

    engine = pyttsx3.Engine()
    try:
        voices = {v.id: v.name for v in engine.getProperty("voices")}
        if config.voice:
            if config.voice not in voices:
                yield Finding(
                    "speech",
                    f"config.toml voice {config.voice!r} is not an installed voice; pick one of "
                    "`espeak-ng --voices` (e.g. gmw/en-us) or remove the key",
                    problem=True,
                )
                return
            voice, origin = config.voice, "config.toml"
        else:
            voice, origin = str(engine.getProperty("voice")), "the espeak-ng default"
    finally:
        engine.stop()
    driver = getattr(engine, "driver_name", None) or "its default driver"
    yield Finding(
        "speech",
        f"pyttsx3 with {driver}, voice {voice} ({origin}), rate {config.rate} words/min, "
        f"volume {config.volume:.2f}",
    )


def _audio(config: Any, device: str | None) -> Iterator[Finding]:
    from voicecoach.hearing.audio import check_output, choose_input, list_devices

    devices = list_devices()
    if not devices:
        why = "no audio devices at all (no sound card, or no PulseAudio/ALSA server reachable)"
        if os.environ.get("PULSE_SERVER"):
            why = f"no audio devices (PULSE_SERVER={os.environ['PULSE_SERVER']} gives none)"
        yield Finding(
            "audio",
            f"{why}: connect a microphone and speakers, or start PulseAudio; "
            "`voicecoach demo` needs neither",
            problem=True,
        )
        return
    spec = device if device is not None else config.input_device
    try:
        mic = choose_input(spec, devices)
    except VoicecoachError as exc:
        yield Finding("microphone", f"{exc}", problem=True)
    else:
        origin = (
            "--device"
            if device is not None
            else "config.toml"
            if spec is not None
            else "system default"
        )
        yield Finding("microphone", f"#{mic.index} {mic.name} ({origin})")
    # As `start` checks it: the device is found and opens for the coach's voice.
    try:
        speaker = check_output(config.output_device)
    except VoicecoachError as exc:
        yield Finding("speaker", str(exc), problem=True)
        return
    origin = "config.toml" if config.output_device is not None else "system default"
    yield Finding("speaker", f"#{speaker.index} {speaker.name} ({origin})")


def _history() -> Iterator[Finding]:
    from voicecoach.history import default_path

    path = default_path()
    if path.exists():
        yield Finding("history", f"{path} ({path.stat().st_size // 1024} KiB)")
        return
    parent = path.parent
    existing = next((p for p in (parent, *parent.parents) if p.exists()), None)
    if existing is None or not os.access(existing, os.W_OK):
        yield Finding(
            "history",
            f"{path} cannot be created ({existing} is not writable): make it writable or set "
            "VOICECOACH_DATA_DIR to a directory that is",
            problem=True,
        )
        return
    yield Finding("history", f"{path} (none yet: created by the first session)")
