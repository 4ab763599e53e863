"""Fetch the Vosk model named in models/manifest.toml and unpack it safely.

`scripts/fetch-model` (which setup calls) asks Maven for the artifact. When the registry does not
carry it, models/UNAVAILABLE records the question and the answer, keyed on the manifest, and the
fetch exits 0; later runs read that record instead of asking again until the manifest changes.
`scripts/fetch-model --vosk` is the person's explicit request: a model already present, else
Maven, else Alpha Cephei's official archive over HTTPS (never run by setup, never at run time).
Every download is checked against its pinned SHA-256 before anything is unpacked
(model_unpack: all or nothing). What the manifest says is read in model_manifest.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import http.client
import logging
import math
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from pathlib import Path

from voicecoach.errors import VoicecoachError
from voicecoach.hearing.model_manifest import (
    HEX64,
    MANIFEST_FILE,
    Archive,
    Manifest,
    missing_model_parts,
    read_manifest,
)
from voicecoach.hearing.model_unpack import TMP_PREFIX, clean_leftovers, unpack, unpack_model

_LOGGER = logging.getLogger(__name__)

UNAVAILABLE_FILE = "UNAVAILABLE"
"""Written into models/ when the registry does not have the artifact."""
DEFAULT_TIMEOUT_S = 900.0
_MOST_TIMEOUT_S = 86_400


def _timeout_seconds(text: str) -> float:
    """--timeout: finite seconds from 1 to a day (NaN or 1e308 reached subprocess's math.ceil
    as a traceback, and -1 was "did not finish within -1 s")."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 1 <= value <= _MOST_TIMEOUT_S:  # also false for NaN
        raise argparse.ArgumentTypeError(
            f"expected seconds from 1 to {_MOST_TIMEOUT_S}, got {text!r}"
        )
    return value


MODEL_ENV = "VOICECOACH_MODEL"
MANIFEST_KEY = "manifest-sha256"
"""The UNAVAILABLE record's line that says which manifest the answer is for."""
# How Maven says "the registry does not have this artifact" (as opposed to "I could not ask").
_NOT_FOUND = re.compile(
    r"Could not find artifact|Failure to find|status code: 404|\b404\b|Not Found",
    re.IGNORECASE,
)
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]|\[[0-9;]*m(?=\[)")
_ANSWER_PATTERNS = (
    re.compile(r"(\S+ was not found in \S+)"),
    re.compile(r"(Could not find artifact \S+ in \S+(?: \([^)]*\))?)"),
    re.compile(r"(Failure to find \S+ in \S+)"),
    re.compile(r"(Could not transfer artifact \S+ from/to \S+ \([^)]*\): status code: 404[^\n]*)"),
)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class ArtifactUnavailable(Exception):
    """The registry answered that it does not have the artifact (now, or as recorded)."""

    def __init__(self, answer: str, recorded: str | None = None) -> None:
        super().__init__(answer)
        self.answer = answer
        self.recorded = recorded
        """When the answer comes from models/UNAVAILABLE rather than a new question: its date."""


class ArchiveUnreachable(VoicecoachError):
    """The archive's host could not be reached at all (no name, no route, no answer)."""


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


def _check_sha256(path: Path, expected: str, what: str) -> str:
    """The file's SHA-256 when it is the expected one; otherwise delete the file and say so."""
    seen = sha256_of(path)
    if seen != expected:
        path.unlink(missing_ok=True)
        raise VoicecoachError(
            f"checksum mismatch for {what}: expected {expected}, got {seen}; "
            "the download was deleted"
        )
    return seen


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
    assert wanted is not None  # both None was refused above
    return _check_sha256(artifact, wanted, manifest.coordinates)


def record_sha256(manifest: Manifest, sha: str) -> None:
    """Pin an accepted hash in the manifest, keeping its comments."""
    text = manifest.path.read_text(encoding="utf-8")
    new_text, count = re.subn(
        r'^(sha256\s*=\s*)"[^"]*"', rf'\g<1>"{sha}"', text, count=1, flags=re.MULTILINE
    )
    if count != 1:
        raise VoicecoachError(f"{manifest.path}: no sha256 line to record the accepted hash in")
    manifest.path.write_text(new_text, encoding="utf-8")


def write_unavailable(manifest: Manifest, answer: str) -> Path:
    """Record that the registry does not have the artifact, for this manifest.

    The model tests skip on this record; and until the manifest changes, plain `fetch-model`
    (setup) reads it instead of asking the registry again.
    """
    path = manifest.models_dir / UNAVAILABLE_FILE
    today = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    path.write_text(
        f"{manifest.coordinates} is not in the Maven registry: {answer}\n"
        f"asked: mvn dependency:copy -Dartifact={manifest.coordinates}\n"
        f"answer: {answer}\n"
        f"date: {today}\n"
        f"{MANIFEST_KEY}: {sha256_of(manifest.path)}\n"
        "Asked again when the manifest changes, or by scripts/fetch-model --vosk.\n"
        f"A model from elsewhere can be used with {MODEL_ENV}=/path/to/model.\n",
        encoding="utf-8",
    )
    return path


def recorded_unavailable(manifest: Manifest) -> tuple[str, str] | None:
    """(answer, date) from models/UNAVAILABLE when it was written for this very manifest."""
    try:
        text = (manifest.models_dir / UNAVAILABLE_FILE).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    record = {}
    for line in text.splitlines()[1:]:
        key, sep, value = line.partition(": ")
        if sep:
            record[key] = value.strip()
    if record.get(MANIFEST_KEY) != sha256_of(manifest.path) or "answer" not in record:
        return None
    return record["answer"], record.get("date", "an earlier run")


def fetch(
    manifest: Manifest,
    accept_sha256: str | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    *,
    ask_again: bool = False,
) -> str:
    """Make sure models/ holds the model, from Maven; one line saying what happened.

    Raises VoicecoachError on any failure, ArtifactUnavailable when the registry lacks it. A
    "not found" recorded for this manifest is not asked again unless `ask_again`.
    """
    installed = manifest.installed_model_dir()
    if installed is not None:
        return f"model present: {installed}"
    target = manifest.model_dir
    if not ask_again and accept_sha256 is None:
        recorded = recorded_unavailable(manifest)
        if recorded is not None:
            raise ArtifactUnavailable(recorded[0], recorded=recorded[1])
    if accept_sha256 is not None:
        accept_sha256 = accept_sha256.strip().lower()
        if not HEX64.match(accept_sha256):
            raise VoicecoachError("--accept-sha256 needs the 64 hex digits of a SHA-256")
    manifest.models_dir.mkdir(parents=True, exist_ok=True)
    clean_leftovers(manifest.models_dir)
    download_dir = Path(tempfile.mkdtemp(prefix=TMP_PREFIX, dir=manifest.models_dir))
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


def _reason(exc: BaseException, timeout_s: float) -> str:
    """Why a connection failed, in a few words."""
    if isinstance(exc, urllib.error.URLError) and isinstance(exc.reason, BaseException):
        exc = exc.reason
    if isinstance(exc, TimeoutError | socket.timeout):
        return f"no answer within {timeout_s:g} s"
    if isinstance(exc, socket.gaierror):
        return f"name lookup failed: {exc.strerror or exc}"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, urllib.error.URLError):
        return str(exc.reason)
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__


def _look_up(url: str, timeout_s: float) -> None:
    """Resolve the URL's host within the timeout (getaddrinfo itself has none)."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if urllib.request.getproxies().get(parts.scheme) and not urllib.request.proxy_bypass(host):
        return  # the proxy resolves it
    answers: list[object] = []

    def look_up() -> None:
        try:
            answers.append(socket.getaddrinfo(host, parts.port or 443, type=socket.SOCK_STREAM))
        except OSError as exc:
            answers.append(exc)

    thread = threading.Thread(target=look_up, name="fetch-model-lookup", daemon=True)
    thread.start()
    thread.join(timeout_s)
    if not answers:
        raise ArchiveUnreachable(f"{url} is not reachable (no name lookup within {timeout_s:g} s)")
    if isinstance(answers[0], OSError):
        raise ArchiveUnreachable(f"{url} is not reachable ({_reason(answers[0], timeout_s)})")


def download_archive(archive: Archive, dest_dir: Path) -> Path:
    """Download the archive into dest_dir with urllib; the path of the complete file.

    Every network step gives up after `archive.connect_timeout_s`; a download that breaks off or
    ends short of its announced length is deleted.
    """
    url, timeout_s = archive.url, archive.connect_timeout_s
    _look_up(url, timeout_s)
    request = urllib.request.Request(url, headers={"User-Agent": "voicecoach-fetch-model"})
    started = dt.datetime.now(dt.UTC)
    try:
        response = urllib.request.urlopen(request, timeout=timeout_s)
    except urllib.error.HTTPError as exc:
        raise VoicecoachError(
            f"{url} answered HTTP {exc.code} ({exc.reason}); nothing was downloaded"
        ) from exc
    except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
        raise ArchiveUnreachable(f"{url} is not reachable ({_reason(exc, timeout_s)})") from exc
    path = dest_dir / archive.file_name
    announced = response.length  # read before reading: http.client counts it down
    received = 0
    with response, path.open("wb") as out:
        while True:
            try:
                block = response.read(1 << 20)
            except (OSError, http.client.HTTPException) as exc:
                path.unlink(missing_ok=True)
                raise VoicecoachError(
                    f"the download of {url} broke off after {received} bytes "
                    f"({_reason(exc, timeout_s)}); the partial file was deleted"
                ) from exc
            if not block:
                break
            try:
                out.write(block)
            except OSError as exc:
                path.unlink(missing_ok=True)
                raise VoicecoachError(
                    f"cannot write {path.name} into {dest_dir.parent}: {exc.strerror or exc}; "
                    "nothing was installed"
                ) from exc
            received += len(block)
    if announced is not None and received != announced:
        path.unlink(missing_ok=True)
        raise VoicecoachError(
            f"the download of {url} ended after {received} of {announced} bytes; "
            "the partial file was deleted"
        )
    seconds = (dt.datetime.now(dt.UTC) - started).total_seconds()
    _LOGGER.info("downloaded %d bytes from %s in %.1f s", received, url, seconds)
    return path


def fetch_archive(manifest: Manifest) -> str:
    """Download, check and unpack the manifest's [archive] into models/; one line of outcome."""
    archive = manifest.archive
    if archive is None:
        raise VoicecoachError(f"{manifest.path} names no [archive] to fetch the model from")
    target = manifest.models_dir / archive.name
    manifest.models_dir.mkdir(parents=True, exist_ok=True)
    clean_leftovers(manifest.models_dir)
    download_dir = Path(tempfile.mkdtemp(prefix=TMP_PREFIX, dir=manifest.models_dir))
    try:
        path = download_archive(archive, download_dir)
        _check_sha256(path, archive.sha256, archive.url)
        unpack_model(path, archive.path_in_archive, target, "")
    finally:
        shutil.rmtree(download_dir, ignore_errors=True)
    return f"model unpacked into {target} from {archive.url} (SHA-256 verified)"


def present_model(manifest: Manifest, model_arg: str | Path | None = None) -> tuple[Path, str]:
    """A Vosk model already here: (directory, where it was named), as the coach resolves it.

    --model, then $VOICECOACH_MODEL, then config.toml's `model`, then models/. A directory that is
    named but is not a model is an error (the coach would refuse it too). Raises LookupError when
    there is none.
    """
    named = [(model_arg, "--model"), (os.environ.get(MODEL_ENV), MODEL_ENV)]
    try:
        from voicecoach.config import load_config

        named.append((load_config().model, "config.toml model"))
    except VoicecoachError as exc:  # the coach reports a broken config; fetching is not blocked
        _LOGGER.info("config.toml not read: %s", exc)
    for value, origin in named:
        if not value:
            continue
        path = Path(value).expanduser()
        if not path.is_dir():
            raise VoicecoachError(f"{origin}: {path} is not a directory; fix or unset it")
        missing = missing_model_parts(path)
        if missing:
            raise VoicecoachError(
                f"{origin}: {path} is not a Vosk model (missing {', '.join(missing)}); "
                "fix or unset it"
            )
        return path, origin
    installed = manifest.installed_model_dir()
    if installed is not None:
        return installed, "models/"
    raise LookupError("no Vosk model")


def fetch_vosk(
    manifest: Manifest,
    model_arg: str | Path | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> str:
    """`fetch-model --vosk`: a model present, else Maven (asked again), else the archive.

    Stops at the first that works; when none does, one VoicecoachError line says why each failed.
    """
    try:
        path, origin = present_model(manifest, model_arg)
    except LookupError:
        pass
    else:
        return f"Vosk model present: {path} ({origin})"
    why: list[str] = []
    try:
        return fetch(manifest, timeout_s=timeout_s, ask_again=True)
    except ArtifactUnavailable as exc:
        write_unavailable(manifest, exc.answer)
        why.append(f"Maven does not have {manifest.coordinates}")
    except VoicecoachError as exc:
        why.append(str(exc))
    try:
        return fetch_archive(manifest)
    except VoicecoachError as exc:
        why.append(str(exc))
    raise VoicecoachError(
        f"no Vosk model: {'; '.join(why)}; the coach keeps listening with its other engines"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="fetch-model",
        description="Fetch the Vosk model named in models/manifest.toml. Without --vosk (as setup "
        "runs it): from Maven only, and not again once Maven has answered 'not found' for this "
        "manifest. Without any Vosk model the coach listens with its other engines (auto: Whisper "
        "tiny.en with PocketSphinx).",
    )
    parser.add_argument(
        "--vosk",
        action="store_true",
        help="get the Vosk model now: use one already present, else ask Maven again, else "
        "download Alpha Cephei's archive (checked against the pinned SHA-256)",
    )
    parser.add_argument(
        "--model", metavar="DIR", help="with --vosk: a Vosk model directory you already have"
    )
    parser.add_argument(
        "--accept-sha256",
        metavar="HEX",
        help="unpack an artifact whose hash the manifest does not pin yet, if it has this "
        "SHA-256, and record it in the manifest",
    )
    parser.add_argument("--manifest", type=Path, default=MANIFEST_FILE, help=argparse.SUPPRESS)
    parser.add_argument(
        "--timeout", type=_timeout_seconds, default=DEFAULT_TIMEOUT_S, help="seconds for mvn"
    )
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING)
    if args.model and not args.vosk:
        parser.error("--model goes with --vosk")
    try:
        manifest = read_manifest(args.manifest)
    except VoicecoachError as exc:
        print(f"fetch-model: {exc}", file=sys.stderr)
        return exc.exit_code
    try:
        if args.vosk:
            message = fetch_vosk(manifest, args.model, args.timeout)
        else:
            message = fetch(manifest, args.accept_sha256, args.timeout)
    except ArtifactUnavailable as exc:
        if exc.recorded:
            where = f"{manifest.models_dir / UNAVAILABLE_FILE}, {exc.recorded}"
            asked = "not asked again until the manifest changes"
        else:
            where, asked = str(write_unavailable(manifest, exc.answer)), "recorded"
        print(
            f"fetch-model: warning: the registry does not have {manifest.coordinates} "
            f"({exc.answer}); {asked} ({where}); the coach listens with its other engines "
            "(auto: Whisper tiny.en with PocketSphinx); scripts/fetch-model --vosk tries "
            "Vosk's model",
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
