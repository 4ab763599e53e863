"""Model files pinned in models/manifest.toml: the SHA-256 a table records, and checking a file
against it. A model that differs from its pin is refused, never loaded."""

from __future__ import annotations

import hashlib
import re
import tomllib
from pathlib import Path

from voicecoach.errors import VoicecoachError
from voicecoach.paths import MODELS_DIR

MANIFEST_FILE = MODELS_DIR / "manifest.toml"


def pinned_sha256(table: str, manifest: Path = MANIFEST_FILE) -> str:
    """The SHA-256 the manifest's [table] records."""
    try:
        value = str(tomllib.loads(manifest.read_text(encoding="utf-8"))[table]["sha256"])
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, KeyError, TypeError) as exc:
        raise VoicecoachError(f"{manifest} has no [{table}] sha256 ({exc})") from exc
    if not re.fullmatch(r"[0-9a-f]{64}", value):
        raise VoicecoachError(f"{manifest}: [{table}] sha256 is not a SHA-256: {value[:80]!r}")
    return value


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while block := stream.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def check_pinned(path: Path, table: str, manifest: Path = MANIFEST_FILE) -> None:
    """Refuse `path` unless its SHA-256 is the one [table] pins."""
    want = pinned_sha256(table, manifest)
    try:
        seen = file_sha256(path)
    except OSError as exc:
        raise VoicecoachError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if seen != want:
        raise VoicecoachError(
            f"{path} has SHA-256 {seen}, not the {want} that {manifest.name} [{table}] pins: "
            "reinstall with scripts/setup"
        )
