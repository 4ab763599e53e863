"""Where things live: the project's data, the model directory, the user's config and data dirs.

VOICECOACH_CONFIG_DIR and VOICECOACH_DATA_DIR override the user directories (tests use them).
"""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_config_path, user_data_path

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = PACKAGE_DIR.parent
PACKAGE_DATA = PACKAGE_DIR / "data"
GRAMMAR_FILE = PROJECT_ROOT / "grammars" / "en.yaml"
PRONUNCIATIONS_FILE = PROJECT_ROOT / "grammars" / "en-pronunciations.dict"
"""Pronunciations (CMU dict phones) for grammar words PocketSphinx's dictionary lacks."""
MODELS_DIR = PROJECT_ROOT / "models"


def config_dir() -> Path:
    """The user's voicecoach config directory (config.toml, routines/)."""
    override = os.environ.get("VOICECOACH_CONFIG_DIR")
    return Path(override) if override else user_config_path("voicecoach")


def data_dir() -> Path:
    """The user's voicecoach data directory (history database)."""
    override = os.environ.get("VOICECOACH_DATA_DIR")
    return Path(override) if override else user_data_path("voicecoach")


def unused_beside(path: Path, tag: str, stamp: str) -> Path:
    """`<name>.<tag>-<stamp>` beside `path`, or `...-<stamp>-2`, `-3`... when that is taken:
    where a file set aside (a damaged history, the demo's last one) goes."""
    target = path.with_name(f"{path.name}.{tag}-{stamp}")
    n = 1
    while target.exists():
        n += 1
        target = path.with_name(f"{path.name}.{tag}-{stamp}-{n}")
    return target
