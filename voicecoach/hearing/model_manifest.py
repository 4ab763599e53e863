"""models/manifest.toml: which artifact holds the Vosk model and how to use it, read and checked
(errors name the file and the field), and whether a directory holds a usable Vosk model.
"""

from __future__ import annotations

import re
import tomllib
import urllib.parse
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from voicecoach.errors import VoicecoachError
from voicecoach.paths import MODELS_DIR

MANIFEST_FILE = MODELS_DIR / "manifest.toml"
UNKNOWN_SHA256 = "unknown"
REQUIRED_PARTS = ("am/final.mdl", "conf/model.conf")
GRAPH_CHOICES = (("graph/HCLr.fst", "graph/Gr.fst"), ("graph/HCLG.fst",))
"""A model has either a grammar-capable lookahead graph (HCLr + Gr) or a static HCLG graph."""
DEFAULT_CONNECT_TIMEOUT_S = 5.0
"""Seconds to reach the archive's host (name lookup, connect, each read) before giving up."""
HEX64 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class Archive:
    """models/manifest.toml [archive]: the model as a zip over HTTPS (for `--vosk` only)."""

    url: str
    sha256: str
    """Lower-case hex; always pinned (an archive with no known hash is never unpacked)."""
    name: str
    """Directory name under models/."""
    path_in_archive: str
    connect_timeout_s: float

    @property
    def file_name(self) -> str:
        return PurePosixPath(urllib.parse.urlsplit(self.url).path).name or "model.zip"


@dataclass(frozen=True)
class Manifest:
    """models/manifest.toml: which artifact holds the model and how to use it."""

    group_id: str
    artifact_id: str
    version: str
    packaging: str
    sha256: str | None
    """Lower-case hex, or None while unknown."""
    name: str
    path_in_artifact: str
    min_word_confidence: float
    path: Path
    models_dir: Path
    archive: Archive | None = None

    @property
    def coordinates(self) -> str:
        return f"{self.group_id}:{self.artifact_id}:{self.version}:{self.packaging}"

    @property
    def model_dir(self) -> Path:
        return self.models_dir / self.name

    @property
    def artifact_file(self) -> str:
        return f"{self.artifact_id}-{self.version}.{self.packaging}"

    def model_dirs(self) -> list[Path]:
        """Where a fetched model may sit under models/: Maven's, then the archive's."""
        dirs = [self.model_dir]
        if self.archive is not None:
            dirs.append(self.models_dir / self.archive.name)
        return dirs

    def installed_model_dir(self) -> Path | None:
        """The first complete fetched model under models/, or None."""
        for model_dir in self.model_dirs():
            if model_dir.is_dir() and not missing_model_parts(model_dir):
                return model_dir
        return None


def read_manifest(path: Path | str = MANIFEST_FILE, models_dir: Path | None = None) -> Manifest:
    """Read and check the manifest; errors name the file and the field."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise VoicecoachError(f"cannot read {path}: {exc.strerror or exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise VoicecoachError(f"{path} is not valid TOML: {exc}") from exc

    def field(table: str, key: str) -> str:
        value = data.get(table, {}).get(key)
        if not isinstance(value, str) or not value.strip():
            raise VoicecoachError(f"{path}: [{table}] {key} must be a non-empty string")
        return value.strip()

    sha = field("artifact", "sha256").lower()
    if sha != UNKNOWN_SHA256 and not HEX64.match(sha):
        raise VoicecoachError(f'{path}: [artifact] sha256 must be 64 hex digits or "unknown"')
    name = field("model", "name")
    if "/" in name or name.startswith("."):
        raise VoicecoachError(f"{path}: [model] name must be a plain directory name")
    threshold = data.get("recognizer", {}).get("min_word_confidence", 0.0)
    if not isinstance(threshold, int | float) or not 0.0 <= threshold <= 1.0:
        raise VoicecoachError(f"{path}: [recognizer] min_word_confidence must be between 0 and 1")
    archive = None
    if "archive" in data:
        archive_sha = field("archive", "sha256").lower()
        if not HEX64.match(archive_sha):
            raise VoicecoachError(f"{path}: [archive] sha256 must be 64 hex digits")
        url = field("archive", "url")
        if urllib.parse.urlsplit(url).scheme not in {"https", "http"}:
            raise VoicecoachError(f"{path}: [archive] url must be an https:// address")
        archive_name = field("archive", "name")
        if "/" in archive_name or archive_name.startswith("."):
            raise VoicecoachError(f"{path}: [archive] name must be a plain directory name")
        timeout = data["archive"].get("connect_timeout_s", DEFAULT_CONNECT_TIMEOUT_S)
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
            raise VoicecoachError(f"{path}: [archive] connect_timeout_s must be a positive number")
        archive = Archive(
            url=url,
            sha256=archive_sha,
            name=archive_name,
            path_in_archive=field("archive", "path_in_archive").strip("/"),
            connect_timeout_s=float(timeout),
        )
    return Manifest(
        group_id=field("artifact", "group_id"),
        artifact_id=field("artifact", "artifact_id"),
        version=field("artifact", "version"),
        packaging=field("artifact", "packaging"),
        sha256=None if sha == UNKNOWN_SHA256 else sha,
        name=name,
        path_in_artifact=field("model", "path_in_artifact").strip("/"),
        min_word_confidence=float(threshold),
        path=path,
        models_dir=models_dir if models_dir is not None else path.parent,
        archive=archive,
    )


def missing_model_parts(model_dir: Path) -> list[str]:
    """What a directory lacks to be a usable Vosk model (empty when it looks complete)."""
    missing = [part for part in REQUIRED_PARTS if not (model_dir / part).is_file()]
    if not any(all((model_dir / p).is_file() for p in choice) for choice in GRAPH_CHOICES):
        missing.append("graph/HCLr.fst+graph/Gr.fst or graph/HCLG.fst")
    return missing
