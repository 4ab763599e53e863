"""--engine and --model for every command that listens, and reading them with config.toml.

The choice itself is voicecoach.hearing.asr.choose_engine's; this module only gathers what it needs.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TYPE_CHECKING

from voicecoach.config import ENGINE_CHOICES

if TYPE_CHECKING:
    from voicecoach.hearing.asr import EngineChoice

MODEL_ENV = "VOICECOACH_MODEL"


def add_engine_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--engine",
        choices=ENGINE_CHOICES,
        help="speech recognizer (default: config.toml's `engine`, else auto: Whisper tiny.en "
        "with PocketSphinx when the neural packages are installed, else Vosk when a Vosk model "
        "is installed or named, else PocketSphinx, whose model comes with it)",
    )
    parser.add_argument(
        "--model",
        metavar="DIR",
        type=Path,
        help="a Vosk model directory, or a CTranslate2 Whisper folder such as base.en or "
        "small.en (beats VOICECOACH_MODEL)",
    )


def choose(args: argparse.Namespace) -> EngineChoice:
    """The engine for this run: --engine and --model, then $VOICECOACH_MODEL, then config.toml.

    A Vosk model named by --model or $VOICECOACH_MODEL settles it without config.toml, and
    --engine pocketsphinx needs nothing from it: a broken file never blocks an explicit choice.
    """
    from voicecoach.errors import VoicecoachError
    from voicecoach.hearing.asr import AUTO, choose_engine
    from voicecoach.shown import quoted, unsafe_characters

    engine: str | None = getattr(args, "engine", None)
    model: Path | None = getattr(args, "model", None)
    for where, value in (("--model", model), (MODEL_ENV, os.environ.get(MODEL_ENV))):
        if value is not None and unsafe_characters(str(value)):
            raise VoicecoachError(
                f"{where} {quoted(str(value))} holds control characters: give a directory path"
            )
    config_engine = config_model = None
    if not (model or os.environ.get(MODEL_ENV)) and engine != "pocketsphinx":
        from voicecoach.config import load_config

        config = load_config()
        config_model = config.model
        if engine is None:  # an explicit --engine auto beats config.toml's engine too
            config_engine = config.engine
    return choose_engine(
        engine or AUTO, model, config_engine=config_engine, config_model=config_model
    )
