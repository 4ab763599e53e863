"""Speech recognition behind one interface: which engine listens, and opening it.

Two engines side by side (`vosk`, `pocketsphinx`), each in its own module, both offering the
`CommandEngine` protocol (voicecoach.asr.base). Choosing one is `choose_engine`, the only place
that knows the order of preference: Vosk wherever a Vosk model is installed or pointed at,
else PocketSphinx, whose model ships inside its wheel, so the coach hears on any machine.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from voicecoach.asr.base import CommandEngine
from voicecoach.asr.vosk import MODEL_ENV
from voicecoach.errors import VoicecoachError
from voicecoach.grammar import Grammar

ENGINE_NAMES = ("vosk", "pocketsphinx")
"""The engines, best first."""
AUTO = "auto"
WHEEL_ORIGIN = "the pocketsphinx wheel"
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
    """"vosk" or "pocketsphinx"."""
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
        if self.why:
            line += f"; {self.why}"
        if self.engine != "vosk" and not vosk_installed():
            if NO_VOSK not in self.why:
                line += f"; {NO_VOSK}"
            line += f": {FETCH_VOSK} gets the better engine"
        return line


def vosk_installed() -> bool:
    """Whether a Vosk model is pointed at ($VOICECOACH_MODEL) or fetched into models/."""
    from voicecoach.asr.vosk import resolve_model_dir

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
    takes Vosk when a Vosk model is given or installed, else PocketSphinx.

    Raises a one-line VoicecoachError for an unknown engine, or Vosk asked for with no model.
    """
    name = (requested if requested and requested != AUTO else config_engine) or AUTO
    if name not in (*ENGINE_NAMES, AUTO):
        raise VoicecoachError(
            f"unknown engine {name!r}: choose one of {', '.join((*ENGINE_NAMES, AUTO))}"
        )
    if name == "pocketsphinx":
        return _pocketsphinx_choice()
    from voicecoach.asr.vosk import resolve_model_dir

    pointed = bool(model or os.environ.get(MODEL_ENV) or config_model)
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


def _pocketsphinx_choice(why: str = "") -> EngineChoice:
    from voicecoach.asr.pocketsphinx import bundled_model

    return EngineChoice("pocketsphinx", bundled_model().hmm, WHEEL_ORIGIN, why)


def open_engine(
    choice: EngineChoice, grammar: Grammar, *, tune_dir: Path | None = None
) -> CommandEngine:
    """Load the chosen engine's model and compile the grammar for it.

    `tune_dir`: where Vosk may keep a copy of its model's conf with shorter endpoint rules.
    """
    if choice.engine == "pocketsphinx":
        from voicecoach.asr.pocketsphinx import PocketSphinxEngine

        return PocketSphinxEngine(grammar)
    from voicecoach.asr.vosk import VoskEngine, load_model, tuned_model_dir

    model_dir = choice.model_dir
    if tune_dir is not None:
        try:
            model_dir = tuned_model_dir(model_dir, tune_dir)
        except OSError as exc:
            _LOGGER.warning("using the model's own endpoint rules: %s", exc)
    return VoskEngine(load_model(model_dir), grammar, model_description=str(choice.model_dir))
