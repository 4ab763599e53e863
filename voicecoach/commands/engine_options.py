"""--engine and --model for every command that listens, and the one line that says what listens.

The choice itself is voicecoach.asr.choose_engine's; this module only reads the flags and
config.toml for it and words the announcement.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TYPE_CHECKING

from voicecoach.config import ENGINE_CHOICES
from voicecoach.errors import VoicecoachError

if TYPE_CHECKING:
    from voicecoach.asr import EngineChoice

MODEL_ENV = "VOICECOACH_MODEL"
FETCH_VOSK = "scripts/fetch-model --vosk"


def add_engine_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--engine",
        choices=ENGINE_CHOICES,
        help="speech recognizer (default: config.toml's `engine`, else auto: Vosk when a Vosk "
        "model is installed or named, else PocketSphinx, whose model comes with it)",
    )
    parser.add_argument(
        "--model", metavar="DIR", type=Path, help="Vosk model directory (beats VOICECOACH_MODEL)"
    )


def choose(args: argparse.Namespace) -> EngineChoice:
    """The engine for this run: --engine and --model, then $VOICECOACH_MODEL, then config.toml.

    config.toml is read only for what the flags and the environment leave open, so a broken file
    never blocks an explicit choice.
    """
    from voicecoach.asr import choose_engine

    engine: str | None = getattr(args, "engine", None)
    model: Path | None = getattr(args, "model", None)
    config_engine = config_model = None
    if engine is None or not (model or os.environ.get(MODEL_ENV)):
        from voicecoach.config import load_config

        config = load_config()
        config_engine, config_model = config.engine, config.model
    return choose_engine(
        engine or "auto", model, config_engine=config_engine, config_model=config_model
    )


def vosk_available(choice: EngineChoice) -> bool:
    """Whether a Vosk model could be used here (the same search --engine vosk does)."""
    if choice.engine == "vosk":
        return True
    from voicecoach.asr import choose_engine
    from voicecoach.config import load_config

    try:
        config_model = load_config().model
    except VoicecoachError:  # reported by whoever reads the config for real
        config_model = None
    try:
        choose_engine("vosk", config_model=config_model)
    except VoicecoachError:
        return False
    return True


def describe(choice: EngineChoice) -> str:
    """One line: which engine, which model, where that came from, and why (for auto)."""
    line = f"engine {choice.engine}, model {choice.model_dir} (from {choice.origin})"
    if choice.why:
        line += f"; {choice.why}"
    return line


def announcement(choice: EngineChoice) -> str:
    """What a listening command prints once: the engine line, naming the Vosk fetch while
    Vosk is absent."""
    line = f"listening with {describe(choice)}"
    if not vosk_available(choice):
        if "no Vosk model" not in choice.why:
            line += "; no Vosk model installed"
        line += f": {FETCH_VOSK} gets the better engine"
    return line
