"""What a scenario says reaches espeak-ng as words, never as options, and the demo never reads
its own stdin (issue 20): `say: "-w/PATH"` wrote whatever was on stdin to PATH, `say: "--help"`
failed the demo, and with an open, empty stdin the demo hung."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from voicecoach.demo import SAMPLE_RATE, synthesize_person


@pytest.mark.parametrize("text", ["--help", "-w{target}", "--stdin", "-f{target}"])
def test_a_line_that_looks_like_an_option_is_said_not_obeyed(tmp_path: Path, text: str) -> None:
    target = tmp_path / "elsewhere.wav"
    work = tmp_path / "work"
    work.mkdir()
    audio = synthesize_person(text.format(target=target), work)
    assert not target.exists()
    assert len(audio) > 0.2 * SAMPLE_RATE  # espeak-ng spoke the characters


def test_a_scenario_of_option_lines_runs_with_an_open_stdin_and_writes_nowhere_else(
    tmp_path: Path,
) -> None:
    """The issue's reproduction: `echo hi | voicecoach demo --script S.yaml` with a line
    "-w/PATH", and the demo run with a stdin that stays open and empty."""
    target = tmp_path / "written-by-espeak.wav"
    script = tmp_path / "s.yaml"
    script.write_text(
        "lines:\n"
        f'  - {{say: "-w{target}", at: 1}}\n'
        '  - {say: "--help", at: 30}\n'
        "  - {say: start the hip routine, at: 60}\n"
        "  - {say: stop, at: 200}\n"
        "  - {say: stop, at: 230}\n"
    )
    env = {
        **os.environ,
        "VOICECOACH_DATA_DIR": str(tmp_path / "data"),
        "VOICECOACH_CONFIG_DIR": str(tmp_path / "config"),
    }
    argv = [sys.executable, "-m", "voicecoach", "demo", "--script", str(script)]
    argv += ["--out", str(tmp_path / "out"), "--speed", "0"]
    out_file, err_file = tmp_path / "stdout", tmp_path / "stderr"
    with (
        out_file.open("w") as out,
        err_file.open("w") as errs,
        subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,  # open and empty until the end: a reader of it would hang
            stdout=out,
            stderr=errs,
            env=env,
        ) as proc,
    ):
        deadline = time.monotonic() + 90
        while proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        hung = proc.poll() is None
        proc.kill()
    err = err_file.read_text()
    assert not hung, "the demo hung with an open, empty stdin"
    assert proc.returncode == 0, err
    assert not target.exists()
    transcript = (tmp_path / "out" / "transcript.txt").read_text()
    assert f'person: "-w{target}"' in transcript and 'person: "--help"' in transcript
    assert "intent fired: start_routine" in transcript  # the demo went on past both lines


def test_sigterm_ends_the_demo_as_it_ends_start(tmp_path: Path) -> None:
    """SIGTERM on `demo` printed nothing and left the session row "running"."""
    import signal

    from voicecoach.history import HistoryStore

    env = {
        **os.environ,
        "VOICECOACH_DATA_DIR": str(tmp_path / "data"),
        "VOICECOACH_CONFIG_DIR": str(tmp_path / "config"),
        "PYTHONUNBUFFERED": "1",
    }
    out = tmp_path / "out"
    proc = subprocess.Popen(
        # At 40 session seconds a second, the rest's reminders are 3.75 s of waiting apart.
        [sys.executable, "-m", "voicecoach", "demo", "--out", str(out), "--speed", "40"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None and proc.stderr is not None
        for line in proc.stdout:
            if "coach (reminder)" in line:  # in the 10-minute rest, its hold started
                time.sleep(0.5)  # the reminder said (0.1 s at this pace): into the wait
                proc.send_signal(signal.SIGTERM)
                signalled = time.monotonic()
                break
        else:
            pytest.fail(f"the demo ended before a hold: {proc.stderr.read()}")
        rest = proc.stdout.read()
        err = proc.stderr.read()
        assert proc.wait(timeout=30) == 128 + signal.SIGTERM
        assert time.monotonic() - signalled < 1.5  # not the rest of that wait
    finally:
        proc.kill()
        proc.wait()
    assert "Summary so far: " in rest
    assert err.strip().splitlines()[-1] == (
        "voicecoach: ended by SIGTERM; the demo's session is saved as interrupted in "
        f"{out / 'history.sqlite3'}"
    )
    assert "Traceback" not in err
    with HistoryStore.open(out / "history.sqlite3", read_only=True) as history:
        (record,) = history.sessions()
        assert record.status == "interrupted"
        assert any(e.kind == "hold_started" for e in history.events(record.id))


def test_the_coachs_speaker_says_option_like_text_without_any_subprocess(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The speaker does not shell out: pyttsx3 hands the text to libespeak-ng, so "-w PATH" or
    "--help" in a routine's words are words. Any subprocess it started would fail this test."""
    from voicecoach.speaking.render import Pyttsx3Renderer, VoiceSettings

    def refuse(*_a, **_k):
        raise AssertionError("the speaker started a subprocess")

    monkeypatch.setattr(subprocess, "Popen", refuse)
    monkeypatch.setattr(os, "system", refuse)
    target = tmp_path / "elsewhere.wav"
    renderer = Pyttsx3Renderer()
    try:
        speech = renderer.render(f"-w{target} --help", VoiceSettings())
    finally:
        renderer.close()
    assert speech.duration_s > 0.5 and not target.exists()
