"""The user's settings: config.toml in the config directory (engine, model path, input device,
voice, rate, volume). Command-line flags override it; slower/faster/louder/quieter are written
back to it.
"""

from __future__ import annotations

import logging
import os
import re
import stat
import tempfile
import tomllib
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from voicecoach import paths
from voicecoach.errors import VoicecoachError
from voicecoach.shown import brief, quoted, unsafe_characters

_LOGGER = logging.getLogger(__name__)

CONFIG_NAME = "config.toml"
ENGINE_CHOICES = ("auto", "whisper", "vosk", "pocketsphinx")
"""What `engine` (and --engine) may say; the engines themselves are voicecoach.hearing.asr's."""
MIN_VOLUME = 0.1
"""Quietest the coach speaks: `volume = 0` made a silent coach, so it is refused (and "quieter"
stops here)."""


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
    """Speaking volume, MIN_VOLUME..1."""

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
    "volume": ((int, float), f"a number from {MIN_VOLUME:g} to 1 (0 would silence the coach)"),
}


def config_path() -> Path:
    return paths.config_dir() / CONFIG_NAME


MAX_CONFIG_BYTES = 64 * 1024
"""Largest config.toml read: a handful of settings is a few hundred bytes."""


def _check(key: str, value: Any, where: Path) -> Any:
    if key not in _RULES:
        known = ", ".join(_RULES)
        raise VoicecoachError(f"{where}: unknown key {quoted(key)} (known keys: {known})")
    types, expected = _RULES[key]

    def refuse(why: str = "") -> VoicecoachError:
        shown = quoted(value) if isinstance(value, str) else brief(value)
        return VoicecoachError(f"{where}: key {key!r} must be {expected}{why}, not {shown}")

    if isinstance(value, bool) or not isinstance(value, types):
        raise refuse()
    if isinstance(value, str) and (unsafe_characters(value) or not value.strip()):
        # A path, a name or an id: a control character in one is a mistake (or a trick that
        # would reach the terminal in every message naming it).
        raise refuse(", without control characters")
    if key == "rate" and not 80 <= value <= 400:
        raise refuse()
    if key == "volume" and not MIN_VOLUME <= value <= 1:  # also false for nan
        raise refuse()
    if key == "engine" and value not in ENGINE_CHOICES:
        raise refuse()
    if key == "model":
        return Path(value).expanduser()
    if key == "volume":
        return float(value)
    return value


def load_config(path: Path | None = None) -> Config:
    """Read config.toml; a missing file is the defaults, a bad one an error naming the key."""
    path = path or config_path()
    try:
        text = _read_regular(path)
    except FileNotFoundError:
        return Config()
    except UnicodeDecodeError as exc:
        raise VoicecoachError(
            f"{path}: not UTF-8 text (byte {exc.start}); TOML files must be saved as UTF-8"
        ) from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise VoicecoachError(f"{path}: not valid TOML: {brief(str(exc), 200)}") from None
    except RecursionError:
        # tomllib recurses once per level of [[[...]]] or {a = {a = ...}}.
        raise VoicecoachError(
            f"{path}: not valid TOML for voicecoach: nested too deep (its settings are plain "
            "key = value lines)"
        ) from None
    values = {key: _check(key, value, path) for key, value in raw.items()}
    return Config(**values)


def _read_regular(path: Path) -> str:
    """The text of `path`, which must be a regular file (through any symlink) of at most
    MAX_CONFIG_BYTES; a named pipe would hang the reader, a device or a directory is a
    mistake. FileNotFoundError when there is none."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise VoicecoachError(f"cannot read {path}: {exc.strerror or exc}") from None
    with os.fdopen(fd, "rb") as file:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise VoicecoachError(
                f"{path} is not a regular file ({_kind(info.st_mode)}); voicecoach reads its "
                "settings only from a plain file: move it away"
            )
        if info.st_size > MAX_CONFIG_BYTES:
            raise VoicecoachError(
                f"{path} is {info.st_size // 1024} kB, more than the "
                f"{MAX_CONFIG_BYTES // 1024} kB a config file may be"
            )
        try:
            data = file.read(MAX_CONFIG_BYTES + 1)
        except OSError as exc:
            raise VoicecoachError(f"cannot read {path}: {exc.strerror or exc}") from None
    if len(data) > MAX_CONFIG_BYTES:
        raise VoicecoachError(
            f"{path} is more than the {MAX_CONFIG_BYTES // 1024} kB a config file may be"
        )
    return data.decode("utf-8")


def _kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISFIFO, "a named pipe"),
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return name
    return "not a plain file"


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
    """Replace the file `path` names with `text` in one step (a crash leaves the old file or the
    new one, never half of one). A symlinked config stays a symlink: its target is replaced. The
    file keeps its mode (a new one is 0600: it may name the person's devices and paths)."""
    target = Path(os.path.realpath(path))
    try:
        mode = stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        mode = 0o600
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(text)
            file.flush()
            os.fchmod(file.fileno(), mode)
            os.fsync(file.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _LOGGER.info("saved %s", target if target == path else f"{path} (-> {target})")


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
        text = _read_regular(path)
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
