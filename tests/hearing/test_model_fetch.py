"""Fetching the model: checksum before unpacking, all-or-nothing unpack, clear one-line errors.

A fake `mvn` on PATH stands in for Maven (the real registry is not part of the test suite).
"""

from __future__ import annotations

import errno
import hashlib
import http.server
import os
import socket
import subprocess
import sys
import textwrap
import threading
import zipfile
from pathlib import Path

import pytest

from voicecoach.errors import VoicecoachError
from voicecoach.hearing import model_fetch
from voicecoach.hearing.asr.vosk import resolve_model_dir
from voicecoach.hearing.model_fetch import fetch, main
from voicecoach.hearing.model_manifest import missing_model_parts, read_manifest

MODEL_FILES = {
    "am/final.mdl": b"acoustic model",
    "conf/model.conf": b"--sample-frequency=16000\n",
    "conf/mfcc.conf": b"--use-energy=false\n",
    "graph/HCLr.fst": b"hclr",
    "graph/Gr.fst": b"gr",
    "graph/phones/word_boundary.int": b"1 nonword\n",
    "ivector/final.ie": b"ivector",
}

FAKE_MVN = textwrap.dedent(
    """\
    #!{python}
    import os, shutil, sys, time
    mode = os.environ.get("FAKE_MVN_MODE", "ok")
    out = next(a.split("=", 1)[1] for a in sys.argv if a.startswith("-DoutputDirectory="))
    art = next(a.split("=", 1)[1] for a in sys.argv if a.startswith("-Dartifact="))
    with open(os.environ["FAKE_MVN_LOG"], "a") as log:
        log.write(" ".join(sys.argv[1:]) + "\\n")
    name = "vosk-model-en-0.3.46.aar"
    if mode == "ok":
        shutil.copy(os.environ["FAKE_MVN_AAR"], os.path.join(out, name))
    elif mode == "notfound":
        print("[ERROR] Failed to execute goal org.apache.maven.plugins:maven-dependency-plugin:"
              "3.6.1:copy (default-cli) on project standalone-pom: Unable to find/resolve "
              "artifact.: Could not find artifact " + art.replace(":aar", "") +
              " in central (https://repo.maven.apache.org/maven2) -> [Help 1]")
        sys.exit(1)
    elif mode == "notfound-cached":
        print("\x1b[0m[ERROR] Failed to execute goal org.apache.maven.plugins:maven-dependency-"
              "plugin:2.8:copy (default-cli) on project standalone-pom: Unable to find artifact. "
              "com.alphacephei:vosk-model-en:aar:0.3.46 was not found in "
              "https://repo.maven.apache.org/maven2 during a previous attempt. This failure was "
              "cached in the local repository and resolution is not reattempted until the update "
              "interval of central has elapsed or updates are forced")
        sys.exit(1)
    elif mode == "neterror":
        print("[ERROR] Failed to execute goal ...: Could not transfer artifact " + art +
              " from/to central: repo.maven.apache.org: Temporary failure in name resolution")
        sys.exit(1)
    elif mode == "partial":
        with open(os.environ["FAKE_MVN_AAR"], "rb") as src:
            data = src.read()
        with open(os.path.join(out, name), "wb") as dst:
            dst.write(data[: len(data) // 2])
        print("[ERROR] Connection reset while downloading")
        sys.exit(1)
    elif mode == "hang":
        time.sleep(30)
    """
)


def _aar(path: Path, root: str = "assets/model-en-us", files: dict[str, bytes] | None = None):
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("AndroidManifest.xml", "<manifest/>")
        archive.writestr("classes.jar", b"PK")
        for name, data in (MODEL_FILES if files is None else files).items():
            archive.writestr(f"{root}/{name}", data)
        archive.writestr(f"{root}/uuid", "1234")
    return path


def _manifest(models: Path, sha: str) -> Path:
    path = models / "manifest.toml"
    path.write_text(
        textwrap.dedent(
            f"""\
            [artifact]
            group_id = "com.alphacephei"
            artifact_id = "vosk-model-en"
            version = "0.3.46"
            packaging = "aar"
            # kept comment
            sha256 = "{sha}"

            [model]
            name = "vosk-model-en-0.3.46"
            path_in_artifact = "assets/model-en-us"

            [recognizer]
            min_word_confidence = 0.6
            """
        )
    )
    return path


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A models/ dir with a manifest, a fake mvn on PATH, and a good artifact."""
    models = tmp_path / "models"
    models.mkdir()
    aar = _aar(tmp_path / "good.aar")
    sha = hashlib.sha256(aar.read_bytes()).hexdigest()
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    mvn = bin_dir / "mvn"
    mvn.write_text(FAKE_MVN.format(python=sys.executable))
    mvn.chmod(0o755)
    log = tmp_path / "mvn.log"
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}/usr/bin{os.pathsep}/bin")
    monkeypatch.setenv("FAKE_MVN_AAR", str(aar))
    monkeypatch.setenv("FAKE_MVN_LOG", str(log))
    monkeypatch.setenv("FAKE_MVN_MODE", "ok")
    monkeypatch.delenv("VOICECOACH_MODEL", raising=False)

    class Env:
        pass

    e = Env()
    e.models, e.aar, e.sha, e.log, e.bin = models, aar, sha, log, bin_dir
    e.manifest = _manifest(models, sha)
    return e


def _leftovers(models: Path) -> list[str]:
    return sorted(p.name for p in models.iterdir() if p.name != "manifest.toml")


def test_fetch_verifies_and_unpacks(env) -> None:
    message = fetch(read_manifest(env.manifest))
    target = env.models / "vosk-model-en-0.3.46"
    assert "SHA-256 verified" in message
    assert missing_model_parts(target) == []
    assert (target / "am" / "final.mdl").read_bytes() == MODEL_FILES["am/final.mdl"]
    assert _leftovers(env.models) == ["vosk-model-en-0.3.46"]
    assert "-Dartifact=com.alphacephei:vosk-model-en:0.3.46:aar" in env.log.read_text()


def test_maven_refuses_to_cache_a_corrupt_transfer(env) -> None:
    """Maven's default checksum policy only warns and keeps a corrupt download in ~/.m2, where
    every later fetch would copy it again (and fail our SHA-256 check forever)."""
    fetch(read_manifest(env.manifest))
    assert "--strict-checksums" in env.log.read_text().split()


def test_present_model_exits_fast_without_mvn(env, monkeypatch, capsys) -> None:
    fetch(read_manifest(env.manifest))
    env.log.unlink()
    monkeypatch.setenv("PATH", "/nonexistent")
    assert main(["--manifest", str(env.manifest)]) == 0
    assert capsys.readouterr().out.startswith("fetch-model: model present:")
    assert not env.log.exists()


def test_checksum_mismatch_deletes_and_unpacks_nothing(env, capsys) -> None:
    _manifest(env.models, "0" * 64)
    assert main(["--manifest", str(env.manifest)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "checksum mismatch" in err and env.sha in err and "deleted" in err
    assert _leftovers(env.models) == []


def test_unknown_hash_refuses_then_accept_records_it(env, capsys) -> None:
    _manifest(env.models, "unknown")
    assert main(["--manifest", str(env.manifest)]) == 1
    err = capsys.readouterr().err
    assert f"--accept-sha256 {env.sha}" in err and "not unpacked" in err
    assert _leftovers(env.models) == []

    assert main(["--manifest", str(env.manifest), "--accept-sha256", "f" * 64]) == 1
    assert "checksum mismatch" in capsys.readouterr().err
    assert _leftovers(env.models) == []

    assert main(["--manifest", str(env.manifest), "--accept-sha256", env.sha.upper()]) == 0
    assert "recorded" in capsys.readouterr().out
    assert read_manifest(env.manifest).sha256 == env.sha
    assert "# kept comment" in env.manifest.read_text()
    assert _leftovers(env.models) == ["vosk-model-en-0.3.46"]


def test_accept_cannot_override_a_pinned_hash(env) -> None:
    with pytest.raises(VoicecoachError, match="contradicts"):
        fetch(read_manifest(env.manifest), accept_sha256="a" * 64)
    assert _leftovers(env.models) == []


def test_missing_mvn_is_one_clear_line(env, monkeypatch, capsys) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    assert main(["--manifest", str(env.manifest)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "mvn (Maven) is not installed" in err
    assert _leftovers(env.models) == []


def test_artifact_not_in_registry_is_recorded_and_setup_goes_on(env, monkeypatch, capsys) -> None:
    monkeypatch.setenv("FAKE_MVN_MODE", "notfound")
    assert main(["--manifest", str(env.manifest)]) == 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "warning" in err and "UNAVAILABLE" in err
    record = (env.models / "UNAVAILABLE").read_text()
    assert record.splitlines()[0].startswith("com.alphacephei:vosk-model-en:0.3.46:aar is not")
    assert "Could not find artifact" in record and "date:" in record
    assert _leftovers(env.models) == ["UNAVAILABLE"]
    # The recognizer's error then says why there is no model.
    with pytest.raises(VoicecoachError, match="registry did not have") as info:
        resolve_model_dir(None, read_manifest(env.manifest))
    assert "VOICECOACH_MODEL" in str(info.value)
    # The next plain run (setup's) reads the record instead of asking the registry again...
    monkeypatch.setenv("FAKE_MVN_MODE", "ok")
    assert main(["--manifest", str(env.manifest)]) == 0
    assert "not asked again" in capsys.readouterr().err
    assert len(env.log.read_text().splitlines()) == 1
    # ...while --vosk asks again, and a successful fetch removes the record.
    assert main(["--manifest", str(env.manifest), "--vosk"]) == 0
    assert len(env.log.read_text().splitlines()) == 2
    assert _leftovers(env.models) == ["vosk-model-en-0.3.46"]


def test_a_changed_manifest_asks_the_registry_again(env, monkeypatch, capsys) -> None:
    monkeypatch.setenv("FAKE_MVN_MODE", "notfound")
    assert main(["--manifest", str(env.manifest)]) == 0
    assert main(["--manifest", str(env.manifest)]) == 0
    assert len(env.log.read_text().splitlines()) == 1
    env.manifest.write_text(env.manifest.read_text().replace("0.6", "0.7"))
    assert main(["--manifest", str(env.manifest)]) == 0
    assert len(env.log.read_text().splitlines()) == 2
    assert "recorded" in capsys.readouterr().err


def test_other_mvn_failures_exit_non_zero(env, monkeypatch, capsys) -> None:
    monkeypatch.setenv("FAKE_MVN_MODE", "neterror")
    assert main(["--manifest", str(env.manifest)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Could not transfer artifact" in err
    assert not (env.models / "UNAVAILABLE").exists()
    assert _leftovers(env.models) == []


def test_interrupted_download_leaves_nothing(env, monkeypatch) -> None:
    monkeypatch.setenv("FAKE_MVN_MODE", "partial")
    with pytest.raises(VoicecoachError, match="mvn could not fetch"):
        fetch(read_manifest(env.manifest))
    assert _leftovers(env.models) == []


def test_mvn_timeout_leaves_nothing(env, monkeypatch) -> None:
    monkeypatch.setenv("FAKE_MVN_MODE", "hang")
    with pytest.raises(VoicecoachError, match="did not finish"):
        fetch(read_manifest(env.manifest), timeout_s=0.5)
    assert _leftovers(env.models) == []


def test_interrupted_unpack_leaves_no_half_model(env, monkeypatch) -> None:
    real_copy = model_fetch.shutil.copyfileobj
    calls = {"n": 0}

    def copy_then_die(src, dst, *args):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return real_copy(src, dst, *args)

    monkeypatch.setattr(model_fetch.shutil, "copyfileobj", copy_then_die)
    with pytest.raises(KeyboardInterrupt):
        fetch(read_manifest(env.manifest))
    assert _leftovers(env.models) == []
    monkeypatch.setattr(model_fetch.shutil, "copyfileobj", real_copy)
    fetch(read_manifest(env.manifest))
    assert missing_model_parts(env.models / "vosk-model-en-0.3.46") == []


def test_leftovers_of_a_killed_fetch_are_cleaned(env) -> None:
    stale = env.models / ".fetch-killed"
    (stale / "model" / "am").mkdir(parents=True)
    (stale / "model" / "am" / "final.mdl").write_bytes(b"half")
    fetch(read_manifest(env.manifest))
    assert _leftovers(env.models) == ["vosk-model-en-0.3.46"]


def test_incomplete_model_dir_is_replaced(env) -> None:
    half = env.models / "vosk-model-en-0.3.46" / "am"
    half.mkdir(parents=True)
    (half / "final.mdl").write_bytes(b"half")
    fetch(read_manifest(env.manifest))
    assert missing_model_parts(env.models / "vosk-model-en-0.3.46") == []
    assert _leftovers(env.models) == ["vosk-model-en-0.3.46"]


def test_corrupt_artifact_with_right_hash_is_deleted(env) -> None:
    env.aar.write_bytes(b"PK\x03\x04 not really a zip")
    _manifest(env.models, hashlib.sha256(env.aar.read_bytes()).hexdigest())
    with pytest.raises(VoicecoachError, match="not a readable zip"):
        fetch(read_manifest(env.manifest))
    assert _leftovers(env.models) == []


def test_artifact_without_a_model_says_what_it_holds(env) -> None:
    _aar(env.aar, root="assets/sounds", files={"beep.ogg": b"x"})
    _manifest(env.models, hashlib.sha256(env.aar.read_bytes()).hexdigest())
    with pytest.raises(VoicecoachError, match=r"holds no Vosk model.*assets/sounds"):
        fetch(read_manifest(env.manifest))
    assert _leftovers(env.models) == []


def test_model_at_another_path_in_assets_is_found(env, capsys) -> None:
    _aar(env.aar, root="assets/vosk-model-small-en-us-0.15")
    _manifest(env.models, hashlib.sha256(env.aar.read_bytes()).hexdigest())
    fetch(read_manifest(env.manifest))
    assert "update path_in_artifact" in capsys.readouterr().err
    assert missing_model_parts(env.models / "vosk-model-en-0.3.46") == []


def test_incomplete_model_in_artifact_is_refused(env) -> None:
    files = {k: v for k, v in MODEL_FILES.items() if not k.startswith("graph/")}
    _aar(env.aar, files=files)
    _manifest(env.models, hashlib.sha256(env.aar.read_bytes()).hexdigest())
    with pytest.raises(VoicecoachError, match="does not hold a usable Vosk model"):
        fetch(read_manifest(env.manifest))
    assert _leftovers(env.models) == []


def test_bad_manifest_names_the_field(tmp_path: Path) -> None:
    path = tmp_path / "manifest.toml"
    path.write_text('[artifact]\ngroup_id = "g"\n')
    with pytest.raises(VoicecoachError, match=r"\[artifact\] sha256 must be a non-empty string"):
        read_manifest(path)
    _manifest(tmp_path, "xyz")
    with pytest.raises(VoicecoachError, match="64 hex digits"):
        read_manifest(path)


def test_nonexistent_model_paths_give_one_line(env, monkeypatch, tmp_path: Path) -> None:
    with pytest.raises(VoicecoachError, match=r"--model: model directory .* does not exist"):
        resolve_model_dir(str(tmp_path / "nowhere"))
    monkeypatch.setenv("VOICECOACH_MODEL", str(tmp_path / "elsewhere"))
    with pytest.raises(VoicecoachError, match="VOICECOACH_MODEL: model directory"):
        resolve_model_dir(None)
    not_a_model = tmp_path / "empty"
    not_a_model.mkdir()
    with pytest.raises(VoicecoachError, match="is not a Vosk model"):
        resolve_model_dir(str(not_a_model))
    monkeypatch.delenv("VOICECOACH_MODEL")
    with pytest.raises(VoicecoachError, match="run scripts/fetch-model") as info:
        resolve_model_dir(None, read_manifest(env.manifest))
    assert "\n" not in str(info.value)


def test_resolution_order(env, monkeypatch, tmp_path: Path) -> None:
    fetch(read_manifest(env.manifest))
    default = env.models / "vosk-model-en-0.3.46"
    other = tmp_path / "other"
    for name, data in MODEL_FILES.items():
        (other / name).parent.mkdir(parents=True, exist_ok=True)
        (other / name).write_bytes(data)
    assert resolve_model_dir(None, read_manifest(env.manifest)) == default
    monkeypatch.setenv("VOICECOACH_MODEL", str(other))
    assert resolve_model_dir(None, read_manifest(env.manifest)) == other
    assert resolve_model_dir(str(default), read_manifest(env.manifest)) == default


def test_script_runs_without_traceback(env, monkeypatch) -> None:
    monkeypatch.setenv("FAKE_MVN_MODE", "neterror")
    proc = subprocess.run(
        [sys.executable, "-m", "voicecoach.hearing.model_fetch", "--manifest", str(env.manifest)],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
    )
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert proc.stderr.startswith("fetch-model: mvn could not fetch")


def test_cached_not_found_answer_is_condensed(env, monkeypatch, capsys) -> None:
    monkeypatch.setenv("FAKE_MVN_MODE", "notfound-cached")
    assert main(["--manifest", str(env.manifest)]) == 0
    first = (env.models / "UNAVAILABLE").read_text().splitlines()[0]
    assert first == (
        "com.alphacephei:vosk-model-en:0.3.46:aar is not in the Maven registry: "
        "com.alphacephei:vosk-model-en:aar:0.3.46 was not found in "
        "https://repo.maven.apache.org/maven2 (Maven's cached answer from an earlier attempt)"
    )
    assert "\x1b" not in capsys.readouterr().err


def test_disk_full_while_unpacking_is_one_line_and_leaves_nothing(env, monkeypatch, capsys) -> None:
    def no_space(src, dst, *args):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(model_fetch.shutil, "copyfileobj", no_space)
    assert main(["--manifest", str(env.manifest)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("fetch-model: cannot unpack vosk-model-en-0.3.46.aar")
    assert "No space left on device" in err and err.count("\n") == 1
    assert _leftovers(env.models) == []


# --- scripts/fetch-model --vosk: a model present, Maven, then the official archive over HTTP ---

ARCHIVE_ROOT = "vosk-model-small-en-us-0.15"


def _archive_zip(path: Path, root: str = ARCHIVE_ROOT) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in MODEL_FILES.items():
            archive.writestr(f"{root}/{name}", data)
        archive.writestr(f"{root}/README", "small US English model")
    return path


class _Server:
    """A real HTTP server on 127.0.0.1 serving one body; `mode` "ok", "truncated" or "silent"."""

    def __init__(self, body: bytes) -> None:
        self.body = body
        self.mode = "ok"
        self.requests = 0
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requests += 1
                if server.mode == "missing":
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/zip")
                self.send_header("Content-Length", str(len(server.body)))
                self.end_headers()
                if server.mode == "truncated":
                    self.wfile.write(server.body[: len(server.body) // 2])
                    self.close_connection = True
                else:
                    self.wfile.write(server.body)

            def log_message(self, *_args) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_port}/vosk/models/{ARCHIVE_ROOT}.zip"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


@pytest.fixture
def served(env, monkeypatch):
    """env with Maven answering "not found" and the archive served from 127.0.0.1."""
    body = _archive_zip(env.models.parent / "archive.zip").read_bytes()
    server = _Server(body)
    monkeypatch.setenv("FAKE_MVN_MODE", "notfound")
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    env.server = server
    env.archive_sha = hashlib.sha256(body).hexdigest()
    env.manifest = _manifest(env.models, env.sha)
    _write_manifest_with_archive(env.manifest, server.url, env.archive_sha)
    yield env
    server.close()


def _write_manifest_with_archive(manifest: Path, url: str, sha: str, timeout_s: float = 2.0):
    manifest.write_text(
        manifest.read_text()
        + textwrap.dedent(
            f"""
            [archive]
            url = "{url}"
            sha256 = "{sha}"
            name = "{ARCHIVE_ROOT}"
            path_in_archive = "{ARCHIVE_ROOT}"
            connect_timeout_s = {timeout_s}
            """
        )
    )


def _vosk(env, *extra: str) -> int:
    return main(["--manifest", str(env.manifest), "--vosk", *extra])


def test_vosk_falls_back_from_maven_to_the_archive(served, capsys) -> None:
    assert _vosk(served) == 0
    out = capsys.readouterr().out
    assert out.startswith("fetch-model: model unpacked into") and "SHA-256 verified" in out
    target = served.models / ARCHIVE_ROOT
    assert missing_model_parts(target) == []
    assert (target / "am" / "final.mdl").read_bytes() == MODEL_FILES["am/final.mdl"]
    assert "-Dartifact=com.alphacephei:vosk-model-en:0.3.46:aar" in served.log.read_text()
    assert served.server.requests == 1
    # The coach finds it in models/, and setup's plain fetch neither asks Maven nor downloads.
    assert read_manifest(served.manifest).installed_model_dir() == target
    assert resolve_model_dir(None, read_manifest(served.manifest)) == target
    assert main(["--manifest", str(served.manifest)]) == 0
    assert _vosk(served) == 0
    assert "present" in capsys.readouterr().out
    assert len(served.log.read_text().splitlines()) == 1
    assert served.server.requests == 1


def test_vosk_uses_a_model_already_present_without_asking_anyone(
    served, monkeypatch, tmp_path: Path, capsys
) -> None:
    mine = tmp_path / "my-model"
    for name, data in MODEL_FILES.items():
        (mine / name).parent.mkdir(parents=True, exist_ok=True)
        (mine / name).write_bytes(data)
    monkeypatch.setenv("VOICECOACH_MODEL", str(mine))
    monkeypatch.setenv("VOICECOACH_CONFIG_DIR", str(tmp_path / "config"))
    assert _vosk(served) == 0
    assert (
        capsys.readouterr().out == f"fetch-model: Vosk model present: {mine} (VOICECOACH_MODEL)\n"
    )
    monkeypatch.delenv("VOICECOACH_MODEL")
    assert _vosk(served, "--model", str(mine)) == 0
    assert f"{mine} (--model)" in capsys.readouterr().out
    assert not served.log.exists() and served.server.requests == 0
    # A named directory that is not a model is the person's to fix: fetching would not help.
    assert _vosk(served, "--model", str(tmp_path)) == 1
    err = capsys.readouterr().err
    assert err.startswith("fetch-model: --model:") and "is not a Vosk model" in err
    assert err.count("\n") == 1


def test_vosk_archive_checksum_mismatch_deletes_it(served, capsys) -> None:
    _manifest(served.models, served.sha)
    _write_manifest_with_archive(served.manifest, served.server.url, "0" * 64)
    assert _vosk(served) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert f"checksum mismatch for {served.server.url}" in err and "deleted" in err
    assert served.archive_sha in err and "keeps listening with its other engines" in err
    assert _leftovers(served.models) == ["UNAVAILABLE"]


def test_vosk_truncated_archive_is_deleted(served, capsys) -> None:
    served.server.mode = "truncated"
    assert _vosk(served) == 1
    err = capsys.readouterr().err
    size = len(served.server.body)
    assert f"ended after {size // 2} of {size} bytes" in err and err.count("\n") == 1
    assert _leftovers(served.models) == ["UNAVAILABLE"]


def test_vosk_archive_answering_404_is_one_line(served, capsys) -> None:
    served.server.mode = "missing"
    assert _vosk(served) == 1
    err = capsys.readouterr().err
    assert "answered HTTP 404" in err and err.count("\n") == 1
    assert _leftovers(served.models) == ["UNAVAILABLE"]


def test_vosk_unreachable_archive_is_one_line(served, capsys) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/{ARCHIVE_ROOT}.zip"
    _manifest(served.models, served.sha)
    _write_manifest_with_archive(served.manifest, url, served.archive_sha)
    assert _vosk(served) == 1
    err = capsys.readouterr().err
    assert err == (
        "fetch-model: no Vosk model: Maven does not have "
        f"com.alphacephei:vosk-model-en:0.3.46:aar; {url} is not reachable (connection refused); "
        "the coach keeps listening with its other engines\n"
    )
    assert _leftovers(served.models) == ["UNAVAILABLE"]


def test_vosk_silent_archive_host_gives_up_after_the_timeout(served, capsys) -> None:
    with socket.socket() as silent:  # accepts connections (the kernel does) but never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/{ARCHIVE_ROOT}.zip"
        _manifest(served.models, served.sha)
        _write_manifest_with_archive(served.manifest, url, served.archive_sha, timeout_s=0.3)
        assert _vosk(served) == 1
    err = capsys.readouterr().err
    assert f"{url} is not reachable (no answer within 0.3 s)" in err and err.count("\n") == 1
    assert _leftovers(served.models) == ["UNAVAILABLE"]


def test_vosk_without_mvn_still_tries_the_archive(served, monkeypatch, capsys) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    assert _vosk(served) == 0
    assert missing_model_parts(served.models / ARCHIVE_ROOT) == []
    assert served.server.requests == 1


def test_bad_archive_table_names_the_field(env) -> None:
    _write_manifest_with_archive(env.manifest, "ftp://example.org/m.zip", "0" * 64)
    with pytest.raises(VoicecoachError, match=r"\[archive\] url must be an https:// address"):
        read_manifest(env.manifest)
    _manifest(env.models, env.sha)
    _write_manifest_with_archive(env.manifest, "https://example.org/m.zip", "abc")
    with pytest.raises(VoicecoachError, match=r"\[archive\] sha256 must be 64 hex digits"):
        read_manifest(env.manifest)


def test_the_project_manifest_pins_the_official_archive() -> None:
    archive = read_manifest().archive
    assert archive is not None
    assert archive.url == "https://alphacephei.com/vosk/models/vosk-model-small-en-us-0.15.zip"
    assert archive.sha256 == "30f26242c4eb449f948e42cb302dd7a686cb29a3423a8367f99ff41780942498"
    assert archive.connect_timeout_s <= 10


@pytest.mark.parametrize("value", ["nan", "inf", "1e308", "-1", "0"])
def test_a_timeout_that_is_not_a_sensible_number_of_seconds_is_one_line(
    env, capsys, value: str
) -> None:
    """--timeout nan and 1e308 were tracebacks (math.ceil in subprocess), -1 was "within -1 s"."""
    with pytest.raises(SystemExit) as info:
        main(["--manifest", str(env.manifest), "--vosk", "--timeout", value])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert (
        "Traceback" not in err
        and f"--timeout: expected seconds from 1 to 86400, got {value!r}" in err
    )
