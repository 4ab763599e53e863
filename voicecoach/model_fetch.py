"""Fetch the Vosk model by its Maven coordinates (models/manifest.toml) and unpack it safely.

Run as `scripts/fetch-model` (which setup calls every run). The artifact is checked against the
pinned SHA-256 before anything is unpacked; the model is unpacked into a temporary directory under
models/ and renamed into place, so an interrupted fetch never leaves a half model. When the
registry does not carry the artifact, models/UNAVAILABLE records what was asked and what the
registry answered, and the fetch exits 0 so that setup (and everything but the model tests) goes on.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from voicecoach.errors import VoicecoachError
from voicecoach.paths import MODELS_DIR

_LOGGER = logging.getLogger(__name__)

MANIFEST_FILE = MODELS_DIR / "manifest.toml"
UNAVAILABLE_FILE = "UNAVAILABLE"
"""Written into models/ when the registry does not have the artifact."""
UNKNOWN_SHA256 = "unknown"
REQUIRED_PARTS = ("am/final.mdl", "conf/model.conf")
GRAPH_CHOICES = (("graph/HCLr.fst", "graph/Gr.fst"), ("graph/HCLG.fst",))
"""A model has either a grammar-capable lookahead graph (HCLr + Gr) or a static HCLG graph."""
DEFAULT_TIMEOUT_S = 900.0
_TMP_PREFIX = ".fetch-"
# How Maven says "the registry does not have this artifact" (as opposed to "I could not ask").
_NOT_FOUND = re.compile(
    r"Could not find artifact|Failure to find|status code: 404|\b404\b|Not Found",
    re.IGNORECASE,
)
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]|\[[0-9;]*m(?=\[)")
_ANSWER_PATTERNS = (
    re.compile(r"(\S+ was not found in \S+)"),
    re.compile(r"(Could not find artifact \S+ in \S+(?: \([^)]*\))?)"),
    re.compile(r"(Failure to find \S+ in \S+)"),
    re.compile(r"(Could not transfer artifact \S+ from/to \S+ \([^)]*\): status code: 404[^\n]*)"),
)


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

    @property
    def coordinates(self) -> str:
        return f"{self.group_id}:{self.artifact_id}:{self.version}:{self.packaging}"

    @property
    def model_dir(self) -> Path:
        return self.models_dir / self.name

    @property
    def artifact_file(self) -> str:
        return f"{self.artifact_id}-{self.version}.{self.packaging}"


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
    if sha != UNKNOWN_SHA256 and not _HEX64.match(sha):
        raise VoicecoachError(f'{path}: [artifact] sha256 must be 64 hex digits or "unknown"')
    name = field("model", "name")
    if "/" in name or name.startswith("."):
        raise VoicecoachError(f"{path}: [model] name must be a plain directory name")
    threshold = data.get("recognizer", {}).get("min_word_confidence", 0.0)
    if not isinstance(threshold, int | float) or not 0.0 <= threshold <= 1.0:
        raise VoicecoachError(f"{path}: [recognizer] min_word_confidence must be between 0 and 1")
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
    )


def missing_model_parts(model_dir: Path) -> list[str]:
    """What a directory lacks to be a usable Vosk model (empty when it looks complete)."""
    missing = [part for part in REQUIRED_PARTS if not (model_dir / part).is_file()]
    if not any(all((model_dir / p).is_file() for p in choice) for choice in GRAPH_CHOICES):
        missing.append("graph/HCLr.fst+graph/Gr.fst or graph/HCLG.fst")
    return missing


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class ArtifactUnavailable(Exception):
    """The registry answered that it does not have the artifact."""

    def __init__(self, answer: str) -> None:
        super().__init__(answer)
        self.answer = answer


def download(manifest: Manifest, dest_dir: Path, timeout_s: float = DEFAULT_TIMEOUT_S) -> Path:
    """Copy the artifact into dest_dir with the machine's Maven; the path of the file."""
    mvn = shutil.which("mvn")
    if mvn is None:
        raise VoicecoachError(
            "mvn (Maven) is not installed: install it (sudo apt-get install -y maven), "
            "or set VOICECOACH_MODEL=/path/to/a/vosk/model"
        )
    command = [
        mvn,
        "-q",
        "-B",
        # Ask the registry again rather than replay Maven's cached "not found", so a model that
        # becomes available is fetched by the next setup run.
        "-U",
        # Maven's default checksum policy only warns, keeping a corrupt transfer in ~/.m2 for
        # every later fetch to copy again: fail instead, and nothing bad is cached.
        "--strict-checksums",
        "-Dstyle.color=never",
        "dependency:copy",
        f"-Dartifact={manifest.coordinates}",
        f"-DoutputDirectory={dest_dir}",
    ]
    _LOGGER.info("running %s", " ".join(command))
    try:
        proc = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired as exc:
        raise VoicecoachError(
            f"mvn did not finish fetching {manifest.coordinates} within {timeout_s:.0f} s; "
            "nothing was unpacked, run scripts/fetch-model again"
        ) from exc
    output = "\n".join(part for part in (proc.stdout, proc.stderr) if part)
    if proc.returncode != 0:
        lines = [line.strip() for line in output.splitlines() if line.strip()]
        errors = [line for line in lines if "ERROR" in line] or lines
        if _NOT_FOUND.search(output):
            raise ArtifactUnavailable(_not_found_answer(output))
        detail = _strip_maven_prefix(errors[0]) if errors else f"exit status {proc.returncode}"
        raise VoicecoachError(f"mvn could not fetch {manifest.coordinates}: {detail}")
    artifact = dest_dir / manifest.artifact_file
    if not artifact.is_file():
        found = sorted(p.name for p in dest_dir.iterdir())
        raise VoicecoachError(
            f"mvn reported success but wrote no {manifest.artifact_file} (found: {found or 'none'})"
        )
    return artifact


def _strip_maven_prefix(line: str) -> str:
    line = _ANSI.sub("", line).strip()
    return re.sub(r"^\[(ERROR|WARNING|INFO)\]\s*", "", line)[:300]


def _not_found_answer(output: str) -> str:
    """The registry's answer in one short sentence, e.g. "G:A:aar:V was not found in URL"."""
    text = _ANSI.sub("", output)
    for pattern in _ANSWER_PATTERNS:
        found = pattern.search(text)
        if found:
            answer = found.group(1).rstrip(".")
            if re.search(r"previous attempt|cached in the local repository", text):
                answer += " (Maven's cached answer from an earlier attempt)"
            return answer
    lines = [_strip_maven_prefix(line) for line in text.splitlines() if "ERROR" in line]
    return lines[0] if lines else "not found"


def verify(artifact: Path, manifest: Manifest, accept_sha256: str | None) -> str:
    """Check the artifact's SHA-256 before it is unpacked; delete it on any mismatch.

    With the manifest's hash unknown, only an explicitly accepted hash lets it through.
    """
    seen = sha256_of(artifact)
    expected = manifest.sha256
    if expected is None and accept_sha256 is None:
        artifact.unlink(missing_ok=True)
        raise VoicecoachError(
            f"{manifest.coordinates} has SHA-256 {seen}, but {manifest.path} pins no hash yet, so "
            "it was not unpacked; check that hash, then run "
            f"scripts/fetch-model --accept-sha256 {seen}"
        )
    if expected is not None and accept_sha256 is not None and accept_sha256 != expected:
        artifact.unlink(missing_ok=True)
        raise VoicecoachError(
            f"--accept-sha256 {accept_sha256} contradicts the hash pinned in {manifest.path} "
            f"({expected}); edit the manifest if the pin is wrong"
        )
    wanted = expected or accept_sha256
    if seen != wanted:
        artifact.unlink(missing_ok=True)
        raise VoicecoachError(
            f"checksum mismatch for {manifest.coordinates}: expected {wanted}, got {seen}; "
            "the download was deleted"
        )
    return seen


def record_sha256(manifest: Manifest, sha: str) -> None:
    """Pin an accepted hash in the manifest, keeping its comments."""
    text = manifest.path.read_text(encoding="utf-8")
    new_text, count = re.subn(
        r'^(sha256\s*=\s*)"[^"]*"', rf'\g<1>"{sha}"', text, count=1, flags=re.MULTILINE
    )
    if count != 1:
        raise VoicecoachError(f"{manifest.path}: no sha256 line to record the accepted hash in")
    manifest.path.write_text(new_text, encoding="utf-8")


def unpack(artifact: Path, manifest: Manifest) -> Path:
    """Unpack the model directory from the artifact into models/<name>, all or nothing."""
    models_dir = manifest.models_dir
    models_dir.mkdir(parents=True, exist_ok=True)
    try:
        archive = zipfile.ZipFile(artifact)
    except (zipfile.BadZipFile, OSError) as exc:
        artifact.unlink(missing_ok=True)
        raise VoicecoachError(f"{artifact.name} is not a readable zip ({exc}); deleted it") from exc
    work = Path(tempfile.mkdtemp(prefix=_TMP_PREFIX, dir=models_dir))
    try:
        with archive:
            bad = archive.testzip()
            if bad is not None:
                raise VoicecoachError(f"{artifact.name} is corrupt (first bad entry: {bad})")
            source = _find_model_root(archive, manifest)
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
        target = manifest.model_dir
        if target.exists():
            # An incomplete leftover (a complete one never gets here): move it out of the way.
            os.replace(target, work / "stale")
        os.replace(model, target)
        return target
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _find_model_root(archive: zipfile.ZipFile, manifest: Manifest) -> str:
    names = archive.namelist()
    preferred = manifest.path_in_artifact.rstrip("/")
    if f"{preferred}/am/final.mdl" in names:
        return preferred
    roots = sorted(
        name[: -len("/am/final.mdl")]
        for name in names
        if name.endswith("/am/final.mdl") and name.startswith("assets/")
    )
    if len(roots) == 1:
        _LOGGER.warning("model found at %s, not at %s as the manifest says", roots[0], preferred)
        print(
            f"fetch-model: the model is at {roots[0]} in the artifact, not {preferred}; "
            "update path_in_artifact in the manifest",
            file=sys.stderr,
        )
        return roots[0]
    top = sorted({"/".join(n.split("/")[:2]) for n in names if n.startswith("assets/")})
    raise VoicecoachError(
        f"the artifact holds no Vosk model under {preferred} "
        f"(assets/ holds: {', '.join(top[:8]) or 'nothing'})"
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


def _clean_leftovers(models_dir: Path) -> None:
    """Remove temporary directories an interrupted earlier fetch left behind."""
    if not models_dir.is_dir():
        return
    for leftover in models_dir.glob(f"{_TMP_PREFIX}*"):
        if leftover.is_dir():
            _LOGGER.info("removing leftover %s", leftover)
            shutil.rmtree(leftover, ignore_errors=True)


def write_unavailable(manifest: Manifest, answer: str) -> Path:
    """Record that the registry does not have the artifact (the model tests skip on this)."""
    path = manifest.models_dir / UNAVAILABLE_FILE
    today = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    path.write_text(
        f"{manifest.coordinates} is not in the Maven registry: {answer}\n"
        f"asked: mvn dependency:copy -Dartifact={manifest.coordinates}\n"
        f"answer: {answer}\n"
        f"date: {today}\n"
        f"A model from elsewhere can be used with VOICECOACH_MODEL=/path/to/model.\n",
        encoding="utf-8",
    )
    return path


def fetch(
    manifest: Manifest,
    accept_sha256: str | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> str:
    """Make sure models/<name> holds the model; one line saying what happened.

    Raises VoicecoachError on any failure, ArtifactUnavailable when the registry lacks it.
    """
    target = manifest.model_dir
    if target.is_dir() and not missing_model_parts(target):
        return f"model present: {target}"
    if accept_sha256 is not None:
        accept_sha256 = accept_sha256.strip().lower()
        if not _HEX64.match(accept_sha256):
            raise VoicecoachError("--accept-sha256 needs the 64 hex digits of a SHA-256")
    manifest.models_dir.mkdir(parents=True, exist_ok=True)
    _clean_leftovers(manifest.models_dir)
    download_dir = Path(tempfile.mkdtemp(prefix=_TMP_PREFIX, dir=manifest.models_dir))
    try:
        artifact = download(manifest, download_dir, timeout_s)
        seen = verify(artifact, manifest, accept_sha256)
        unpack(artifact, manifest)
    finally:
        shutil.rmtree(download_dir, ignore_errors=True)
    (manifest.models_dir / UNAVAILABLE_FILE).unlink(missing_ok=True)
    if manifest.sha256 is None:
        record_sha256(manifest, seen)
        return f"model unpacked into {target}; SHA-256 {seen} recorded in {manifest.path}"
    return f"model unpacked into {target} (SHA-256 verified)"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="fetch-model", description="Fetch the Vosk model named in models/manifest.toml."
    )
    parser.add_argument(
        "--accept-sha256",
        metavar="HEX",
        help="unpack an artifact whose hash the manifest does not pin yet, if it has this "
        "SHA-256, and record it in the manifest",
    )
    parser.add_argument("--manifest", type=Path, default=MANIFEST_FILE, help=argparse.SUPPRESS)
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_S, help="seconds for mvn")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING)
    try:
        manifest = read_manifest(args.manifest)
    except VoicecoachError as exc:
        print(f"fetch-model: {exc}", file=sys.stderr)
        return exc.exit_code
    try:
        message = fetch(manifest, args.accept_sha256, args.timeout)
    except ArtifactUnavailable as exc:
        path = write_unavailable(manifest, exc.answer)
        print(
            f"fetch-model: warning: the registry does not have {manifest.coordinates} "
            f"({exc.answer}); recorded in {path}; recognition needs "
            "VOICECOACH_MODEL=/path/to/a/vosk/model",
            file=sys.stderr,
        )
        return 0
    except VoicecoachError as exc:
        print(f"fetch-model: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("fetch-model: interrupted; no model was unpacked", file=sys.stderr)
        return 130
    print(f"fetch-model: {message}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
