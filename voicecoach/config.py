"""The user's settings: config.toml in the config directory (engine, model path, input device,
voice, rate, volume). Command-line flags override it; slower/faster/louder/quieter are written
back to it.
"""

from __future__ import annotations

import logging
import re
import tomllib
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from voicecoach import paths
from voicecoach.errors import VoicecoachError

_LOGGER = logging.getLogger(__name__)

CONFIG_NAME = "config.toml"
ENGINE_CHOICES = ("auto", "whisper", "vosk", "pocketsphinx")
"""What `engine` (and --engine) may say; the engines themselves are voicecoach.asr's."""


@dataclass(frozen=True)
class Config:
    """Everything config.toml may set; None means "not set, use the default"."""

    engine: str | None = None
    """Speech recognizer: "whisper", "vosk", "pocketsphinx" or "auto" (None: auto, Whisper when
    its packages are installed, else Vosk when its model is installed, else PocketSphinx)."""
    model: Path | None = None
    """A Vosk model directory, or a CTranslate2 Whisper folder (base.en, small.en...)."""
    input_device: str | int | None = None
    """Input device index or part of its name (see `voicecoach devices`)."""
    output_device: str | int | None = None
    """Output device index or part of its name."""
    voice: str | None = None
    """pyttsx3 voice id, e.g. "gmw/en-us"."""
    rate: int = 165
    """Speaking rate, words per minute."""
    volume: float = 0.9
    """Speaking volume, 0..1."""

    def with_overrides(self, **flags: Any) -> Config:
        """This config with every flag that was given (not None) taking precedence."""
        given = {k: v for k, v in flags.items() if v is not None}
        return replace(self, **given)


_RULES: dict[str, tuple[tuple[type, ...], str]] = {
    "engine": ((str,), "one of " + ", ".join(f'"{name}"' for name in ENGINE_CHOICES)),
    "model": ((str,), "a directory path (a string)"),
    "input_device": ((str, int), "a device index or a name (integer or string)"),
    "output_device": ((str, int), "a device index or a name (integer or string)"),
    "voice": ((str,), "a voice id (a string)"),
    "rate": ((int,), "words per minute, an integer from 80 to 400"),
    "volume": ((int, float), "a number from 0 to 1"),
}


def config_path() -> Path:
    return paths.config_dir() / CONFIG_NAME


def _check(key: str, value: Any, where: Path) -> Any:
    if key not in _RULES:
        known = ", ".join(_RULES)
        raise VoicecoachError(f"{where}: unknown key {key!r} (known keys: {known})")
    types, expected = _RULES[key]
    if isinstance(value, bool) or not isinstance(value, types):
        raise VoicecoachError(f"{where}: key {key!r} must be {expected}, not {value!r}")
    if key == "rate" and not 80 <= value <= 400:
        raise VoicecoachError(f"{where}: key 'rate' must be {expected}, not {value!r}")
    if key == "volume" and not 0 <= value <= 1:
        raise VoicecoachError(f"{where}: key 'volume' must be {expected}, not {value!r}")
    if key == "engine" and value not in ENGINE_CHOICES:
        raise VoicecoachError(f"{where}: key 'engine' must be {expected}, not {value!r}")
    if key == "model":
        return Path(value).expanduser()
    if key == "volume":
        return float(value)
    return value


def load_config(path: Path | None = None) -> Config:
    """Read config.toml; a missing file is the defaults, a bad one an error naming the key."""
    path = path or config_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Config()
    except OSError as exc:
        raise VoicecoachError(f"cannot read {path}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise VoicecoachError(
            f"{path}: not UTF-8 text (byte {exc.start}); TOML files must be saved as UTF-8"
        ) from exc
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise VoicecoachError(f"{path}: not valid TOML: {exc}") from exc
    values = {key: _check(key, value, path) for key, value in raw.items()}
    return Config(**values)


def _toml_value(value: Any) -> str:
    if isinstance(value, Path):
        value = str(value)
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"')
        return f'"{escaped}"'
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def save_config(config: Config, path: Path | None = None) -> Path:
    """Write every set value back, atomically (a crash never leaves half a file)."""
    path = path or config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["# voicecoach settings; `voicecoach start --help` says which flags override them."]
    for f in fields(Config):
        value = getattr(config, f.name)
        if value is not None:
            lines.append(f"{f.name} = {_toml_value(value)}")
    _write_atomically(path, "\n".join(lines) + "\n")
    return path


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_suffix(".toml.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    _LOGGER.info("saved %s", path)


def remember_voice(rate: int, volume: float, path: Path | None = None) -> Config:
    """Store a new rate and volume (after slower/faster/louder/quieter), keeping the rest."""
    try:
        current = load_config(path)
    except VoicecoachError as exc:
        # A broken file is the person's to fix; never overwrite it with ours.
        _LOGGER.warning("not saving the voice setting: %s", exc)
        return Config(rate=rate, volume=volume)
    updated = replace(current, rate=rate, volume=round(volume, 2))
    path = path or config_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        save_config(updated, path)
        return updated
    # Change just those two lines: the person's comments, order and "~" paths stay as written.
    for key in ("rate", "volume"):
        value = _toml_value(getattr(updated, key))
        text, found = re.subn(
            rf"^(\s*{key}\s*=\s*)[^#\n]*?(\s*(?:#.*)?)$",
            lambda m, v=value: f"{m.group(1)}{v}{m.group(2)}",
            text,
            count=1,
            flags=re.MULTILINE,
        )
        if not found:
            text = f"{text.rstrip()}\n{key} = {value}\n".lstrip()
    try:
        tomllib.loads(text)
    except tomllib.TOMLDecodeError:  # a layout the line edit cannot handle: write it afresh
        save_config(updated, path)
        return updated
    _write_atomically(path, text)
    return updated
