"""The whole demo on the real code path: exit 0 and the summary, a transcript whose times never
run backwards, real audio, the history, and the out directories and speeds it refuses."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import time
import wave
from pathlib import Path

import numpy as np
import pytest

from tests.demo.helpers import SCRIPTED_INTENTS, transcript_lines
from voicecoach.demo import TEXT_MODE_NOTE

_ONE_EXERCISE = (
    "exercises:\n  - {id: rest, names: [rest], why: Restful., setup: [Lie down.], "
    "hold: {seconds: 60}}\n"
)
BROKEN_USER_FILES = {
    "binary.yaml": bytes(range(256)),
    "deep.yaml": b"[" * 5000,
    "french.yaml": ("id: matin\nnames: [étirement du matin]\n" + _ONE_EXERCISE).encode(),
    "ouch.yaml": ("id: ouch\nnames: [ouch]\n" + _ONE_EXERCISE).encode(),
}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    root = tmp_path_factory.mktemp("demo")
    # The person's routine directory holds files that used to stop the demo (issue 11): one
    # binary, one nested 5,000 deep, one whose name the recognizer cannot take, one named "ouch".
    routines = root / "config" / "routines"
    routines.mkdir(parents=True)
    for name, data in BROKEN_USER_FILES.items():
        (routines / name).write_bytes(data)
    env = {
        **os.environ,
        "VOICECOACH_DATA_DIR": str(root / "data"),
        "VOICECOACH_CONFIG_DIR": str(root / "config"),
    }
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "voicecoach", "demo", "--out", str(root / "out"), "--speed", "0"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert time.monotonic() - started < 60
    return root, result


def test_demo_exits_0_and_prints_the_summary(demo) -> None:
    _root, result = demo
    assert result.returncode == 0, result.stderr
    assert any(f"Summary: {start} full routine" in result.stdout for start in ("That's the", "The"))
    assert "Traceback" not in result.stderr


def test_broken_user_routine_files_do_not_stop_the_demo(demo) -> None:
    root, result = demo
    assert result.returncode == 0, result.stderr
    warned = [line for line in result.stderr.splitlines() if "skipping" in line]
    assert len(warned) == len(BROKEN_USER_FILES), result.stderr
    for name in BROKEN_USER_FILES:
        assert sum(str(root / "config" / "routines" / name) in line for line in warned) == 1


def test_transcript_has_the_scripted_intents_in_order(demo) -> None:
    root, _ = demo
    fired = [
        text.split()[2] for _t, text in transcript_lines(root) if text.startswith("intent fired:")
    ]
    assert fired == SCRIPTED_INTENTS
    said = [text for _t, text in transcript_lines(root) if text.startswith("person:")]
    assert said[0] == 'person: "start the full routine"'
    transcript = (root / "out" / "transcript.txt").read_text()
    model_installed = "No Vosk speech model is installed" not in transcript
    if not model_installed:
        heard = [text for _t, text in transcript_lines(root) if text.startswith("heard:")]
        assert heard and all(TEXT_MODE_NOTE in h for h in heard)


def test_transcript_times_never_run_backwards(demo) -> None:
    """A command's heard, event, intent and state lines carry the session time it took effect
    (when its words ended); the coach's answer follows at the moment it was given."""
    root, _ = demo
    lines = transcript_lines(root)
    backwards = [(a, b) for a, b in itertools.pairwise(lines) if b[0] < a[0]]
    assert backwards == []


def test_constructive_rest_ends_at_exactly_fifteen_minutes_after_add_five_minutes(demo) -> None:
    root, _ = demo
    lines = transcript_lines(root)
    start = next(
        t for t, x in lines if x.startswith("event: hold started") and "constructive_rest" in x
    )
    end, ended = next(
        (t, x) for t, x in lines if x.startswith("event: hold ended") and "constructive_rest" in x
    )
    assert end - start == pytest.approx(900.0, abs=0.0005)
    assert "achieved_s=900.000" in ended
    extended = [x for _t, x in lines if x.startswith("event: extended")]
    assert extended == [
        "event: extended (extended) exercise=constructive_rest seconds=300 capped=False"
    ]


def test_pause_over_the_coach_cuts_it_short_and_resume_continues(demo) -> None:
    root, _ = demo
    texts = [x for _t, x in transcript_lines(root)]
    i = texts.index('person: "pause please"')
    assert "coach cut off mid-sentence" in texts[i : i + 8]
    j = texts.index('person: "resume"')
    assert any(x.startswith("state: paused -> hold") for x in texts[j : j + 6])


def test_summary_numbers(demo) -> None:
    root, _ = demo
    data_line = next(x for _t, x in transcript_lines(root) if x.startswith("summary data: "))
    summary = json.loads(data_line.removeprefix("summary data: "))
    assert summary["routine"] == "full"
    assert summary["completed"] is True
    assert summary["steps_skipped"] == 1
    assert summary["added_s"] == 300
    assert summary["pauses"] == 1
    assert summary["stops"] == 0
    assert (summary["stiffness_before"], summary["stiffness_after"]) == (4, 2)
    crp = next(r for r in summary["results"] if r["exercise"] == "constructive_rest")
    assert crp["achieved_s"] == 900.0
    slide = [r for r in summary["results"] if r["exercise"] == "psoas_slide"]
    assert [r["skipped"] for r in slide] == [True, False]
    assert slide[1]["reps"] == 5
    assert summary["sessions_today"] == 1


def test_session_wav_is_real_audio(demo) -> None:
    root, _ = demo
    with wave.open(str(root / "out" / "session.wav")) as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (16_000, 1, 2)
        duration = w.getnframes() / w.getframerate()
        samples = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float64)
    # Every cue spoken (the setup instructions alone are minutes), silences shortened.
    assert 120 < duration < 1200
    frames = samples[: len(samples) // 320 * 320].reshape(-1, 320)
    loud = np.sqrt((frames**2).mean(axis=1)) > 300
    assert loud.mean() > 0.4  # mostly speech, not silence
    assert np.abs(samples).max() > 5000


def test_the_session_is_in_the_history(demo) -> None:
    from voicecoach.history import HistoryStore

    root, _ = demo
    with HistoryStore.open(root / "out" / "history.sqlite3", read_only=True) as history:
        sessions = history.sessions()
    assert len(sessions) == 1
    assert sessions[0].status == "completed"
    # The person's own history is untouched by a demo.
    assert not (root / "data" / "history.sqlite3").exists()


def test_a_demo_killed_midway_leaves_the_next_demo_a_fresh_history_and_keeps_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A demo killed mid-session broke every later demo in the same --out (its resume offer
    swallowed the scripted "start the full routine": "stuck in state 'idle'"). The next run
    starts from a fresh history and says so; the killed run's history is kept, whole."""
    from voicecoach.demo import run_demo
    from voicecoach.history import HistoryStore
    from voicecoach.messages import SessionEvent

    monkeypatch.setenv("VOICECOACH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("VOICECOACH_CONFIG_DIR", str(tmp_path / "config"))
    (tmp_path / "out").mkdir()
    # a demo session that was killed in its third step, left "running" with its log unmerged
    killed = [
        SessionEvent("session_started", 0.0, routine="full", data={"steps": 9}),
        SessionEvent("step_started", 1.0, "full", "constructive_rest", data={"step": 0}),
        SessionEvent("step_started", 900.0, "full", "psoas_slide", "left", data={"step": 1}),
        SessionEvent("step_started", 990.0, "full", "psoas_slide", "right", data={"step": 2}),
    ]
    with HistoryStore.open(tmp_path / "out" / "history.sqlite3") as history:
        for event in killed:
            history.record(event)
    assert run_demo(tmp_path / "out", speed=0, echo=None) == 0
    notes = (tmp_path / "out" / "transcript.txt").read_text().splitlines()
    (kept,) = sorted((tmp_path / "out").glob("history.sqlite3.previous-*[0-9]"))
    assert f"# the demo starts from a fresh history; the last run's is kept as {kept.name}" in notes
    lines = [x for _t, x in transcript_lines(tmp_path)]
    assert lines[0].startswith("coach (greeting):")
    assert not any(x.startswith("coach (greeting_resume)") for x in lines)
    assert "intent fired: start_routine {'routine': 'full'}" in lines
    assert any(x.startswith("summary: ") for x in lines)
    with HistoryStore.open(kept, read_only=True) as old:
        (record,) = old.sessions()
        assert old.events(record.id) == killed
    with HistoryStore.open(tmp_path / "out" / "history.sqlite3", read_only=True) as new:
        assert [r.status for r in new.sessions()] == ["completed"]


def test_an_unwritable_out_dir_is_one_clear_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from voicecoach import cli

    blocker = tmp_path / "a-file"
    blocker.write_text("")
    assert cli.main(["demo", "--out", str(blocker / "demo")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("voicecoach: cannot write the demo's output to")
    assert err.count("\n") == 1


def test_a_demo_that_fails_midway_still_stops_the_speech_engine_and_cleans_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tempfile

    from voicecoach.demo import run_demo
    from voicecoach.session import Session

    monkeypatch.setenv("VOICECOACH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("VOICECOACH_CONFIG_DIR", str(tmp_path / "config"))
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    real_handle = Session.handle

    def handle(self, event):  # a bug surfacing a few inputs in
        if len(self.events) >= 2:
            raise RuntimeError("session bug")
        return real_handle(self, event)

    monkeypatch.setattr(Session, "handle", handle)
    with pytest.raises(RuntimeError, match="session bug") as failed:
        run_demo(tmp_path / "out", speed=0, echo=None)
    # Checked while the traceback still holds the demo's objects (no finalizer has run).
    assert failed.value is not None
    assert sorted(p.name for p in scratch.iterdir()) == []
    assert "person:" in (tmp_path / "out" / "transcript.txt").read_text()


def test_demo_refuses_an_out_dir_that_holds_the_real_history(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from voicecoach import cli
    from voicecoach.history import HistoryStore

    data = tmp_path / "data"
    monkeypatch.setenv("VOICECOACH_DATA_DIR", str(data))
    with HistoryStore.open():
        pass
    before = (data / "history.sqlite3").read_bytes()
    link = tmp_path / "link"
    link.symlink_to(data)
    for out in (str(data), f"{data}/", str(link), str(data / "." / "")):
        assert cli.main(["demo", "--out", out, "--speed", "0"]) == 1
        err = capsys.readouterr().err
        assert err == (
            f"voicecoach: --out {out} holds your own history ({data / 'history.sqlite3'}); the "
            "demo records its sessions in DIR/history.sqlite3, so give another directory\n"
        )
    assert (data / "history.sqlite3").read_bytes() == before
    assert sorted(p.name for p in data.iterdir()) == ["history.sqlite3", "history.sqlite3.lock"]


def test_demo_refuses_an_empty_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from voicecoach import cli

    monkeypatch.chdir(tmp_path)
    assert cli.main(["demo", "--out", ""]) == 1
    err = capsys.readouterr().err
    assert err == (
        "voicecoach: --out needs a directory name (an empty one would be the current one)\n"
    )
    assert list(tmp_path.iterdir()) == []  # nothing written into the current directory


@pytest.mark.parametrize("speed", ["-1", "nan", "1e-9", "inf", "0.5", "fast", "1e6"])
def test_demo_refuses_a_speed_out_of_range(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], speed: str
) -> None:
    from voicecoach import cli

    assert cli.main(["demo", "--out", str(tmp_path / "out"), "--speed", speed]) == 1
    err = capsys.readouterr().err
    assert err == (
        "voicecoach: --speed must be 0 (no waiting) or from 1 (real time) to 100000 session "
        f"seconds per real second (got {speed!r})\n"
    )
    assert not (tmp_path / "out").exists()


def test_demo_speed_accepts_0_and_the_range() -> None:
    from voicecoach.commands.live import demo_speed

    assert [demo_speed(s) for s in ("0", "1", "200", "1e5")] == [0.0, 1.0, 200.0, 100000.0]
