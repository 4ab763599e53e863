"""A full disk (issue 20): the history and the demo name it once, in one line; what was saved is
kept and every message about it is true; with space again the session is offered for resuming.

The disk is a small tmpfs where the test can mount one, else SQLite's page limit and /dev/full
(see tests/_full_disk.py); both ways run here, so the fallback is tested too.
"""

from __future__ import annotations

import os
import re
import signal
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from tests._full_disk import FullDisk, full_disk
from voicecoach import cli
from voicecoach.history import HistoryStore, HistoryWriteError
from voicecoach.messages import Intent, SessionEvent, Utterance

KINDS = ["tmpfs", "page limit"]


@pytest.fixture(params=KINDS)
def disk(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    with full_disk(tmp_path, monkeypatch, want=request.param) as d:
        yield d


def _session_events() -> list[SessionEvent]:
    """A hip session: two exercises, each started, held and ended, then finished."""
    events = [SessionEvent("session_started", 0.0, routine="hip", data={"steps": 4})]
    t = 1.0
    for step, (exercise, side) in enumerate(
        [("kneeling_psoas_stretch", "left"), ("kneeling_psoas_stretch", "right")] * 2
    ):
        events += [
            SessionEvent("step_started", t, "hip", exercise, side, data={"step": step}),
            SessionEvent("hold_started", t + 1, "hip", exercise, side, data={"target_s": 30.0}),
            SessionEvent(
                "hold_ended", t + 31, "hip", exercise, side, data={"achieved_s": 30.0, "pad": step}
            ),
        ]
        t += 40
    events.append(SessionEvent("finished", t, routine="hip", data={"completed": True}))
    return events


def test_a_new_history_on_a_full_disk_is_one_line_naming_the_disk_and_the_file(
    disk: FullDisk,
) -> None:
    """No history yet, no space: `_migrate`'s COMMIT fails and SQLite has already rolled back.
    The error is the full disk, not "cannot rollback - no transaction is active"."""
    db = disk.root / "data" / "history.sqlite3"
    db.parent.mkdir()
    disk.fill()
    with pytest.raises(HistoryWriteError) as caught:
        HistoryStore.open(db)
    message = str(caught.value)
    assert "the disk is full" in message and str(db) in message, message
    assert "rollback" not in message and "\n" not in message
    assert caught.value.disk_full
    # With space again the same file opens and records: the failed attempt left nothing in the way.
    disk.free()
    with HistoryStore.open(db) as history:
        history.record(SessionEvent("session_started", 0.0, routine="hip"))
        assert [s.routine for s in history.sessions()] == ["hip"]


def test_the_disk_filling_mid_session_is_said_once_and_keeps_a_true_beginning(
    disk: FullDisk,
) -> None:
    """The disk fills after the second step starts. The failure is told once; nothing more is
    written, so what is stored is exactly the session's first events (no hole in it); a session
    saved before is untouched; with space again the next start offers to resume at the last
    stored step."""
    db = disk.root / "data" / "history.sqlite3"
    events = _session_events()
    with HistoryStore.open(db) as history:
        for event in events:
            history.record(event)
        earlier = history.sessions()
    failures: list[HistoryWriteError] = []
    fill_after = 5  # session_started, then step 0 started, held, ended; step 1 started
    with HistoryStore.open(db) as history:
        record = history.recorder(on_failure=failures.append)
        for i, event in enumerate(events):
            if i == fill_after:
                disk.fill()
            record(event)
        assert len(failures) == 1, failures
        message = str(failures[0])
        assert "the disk is full" in message and str(db) in message and "\n" not in message
        assert "rollback" not in message
        saved = len(events) - history.unsaved_events
        assert history.unsaved_events >= 1
        assert history.saved_status == "running"
    if disk.kind == "tmpfs":
        assert saved == fill_after  # the first commit after the disk filled failed
    else:
        assert saved >= fill_after  # a page limit fails once the pages in hand are used up
    disk.free()
    with HistoryStore.open(db) as history:
        sessions = history.sessions()
        assert sessions[0] == earlier[0]
        assert history.events(sessions[1].id) == events[:saved]
        offer = history.interrupted()
    last_step = [e for e in events[:saved] if e.kind == "step_started"][-1]
    assert offer is not None
    assert (offer.session_id, offer.step_index) == (sessions[1].id, last_step.data["step"])


# --- the live session -----------------------------------------------------------------------


class _Mic:
    """Quiet, with one loud stretch at 1.6 to 2.0 s (heard as "ready"), after the setup."""

    def __init__(self) -> None:
        self.closed = threading.Event()

    def frames(self, timeout: float = 0.5):
        rng = np.random.default_rng(0)
        t = np.arange(320) / 16_000
        started = time.monotonic()
        for k in range(100_000):
            if self.closed.is_set():
                return
            time.sleep(max(0.0, started + (k + 1) * 0.02 - time.monotonic()))
            s = k * 0.02
            frame = rng.normal(0, 30, 320)
            if 1.6 <= s < 2.0:
                frame += 20_000 * np.sin(2 * np.pi * 180 * (t + s))
            yield frame.astype(np.int16), time.monotonic()

    def close(self) -> None:
        self.closed.set()


class _Decoder:
    name = "stand-in"

    def __init__(self) -> None:
        self.fed = 0

    def accept(self, chunk: bytes):
        self.fed += len(chunk)
        return None

    def flush(self):
        fed, self.fed = self.fed, 0
        return Utterance("ready", Intent("ready"), 0.95) if fed > 6400 else None

    def reset(self) -> None:
        self.fed = 0


def _fake_devices(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, spoken: list[str]) -> None:
    import voicecoach.hearing.asr as asr
    import voicecoach.hearing.audio as audio
    import voicecoach.speaking.output as playback
    import voicecoach.speaking.render as rendering

    class Renderer:
        def render(self, text: str, settings):
            spoken.append(text)
            return rendering.RenderedSpeech(text, np.full(800, 500, np.int16), 16_000)

        def close(self) -> None:
            pass

    class Output:
        def __init__(self, clock, _device=None, *, latency_s: float = 0.4) -> None:
            self.clock = clock

        def play(self, samples, rate, on_done):
            start = self.clock.now()
            end = start + len(samples) / rate
            threading.Timer(len(samples) / rate, on_done, (end, False)).start()
            return start

        def cut(self) -> None:
            pass

        def close(self) -> None:
            pass

    monkeypatch.setattr(audio, "open_microphone", lambda _spec: _Mic())
    monkeypatch.setattr(audio, "check_output", lambda _spec: audio.Device(0, "out", 0, 2, 48_000))
    monkeypatch.setattr(
        asr, "choose_engine", lambda *a, **k: asr.EngineChoice("stub", tmp_path, "the test")
    )
    monkeypatch.setattr(asr, "open_engine", lambda _choice, _grammar, **_k: _Decoder())
    monkeypatch.setattr(rendering, "Pyttsx3Renderer", Renderer)
    monkeypatch.setattr(playback, "SoundDeviceOutput", Output)


def test_a_live_session_on_a_disk_that_fills_says_so_once_and_what_it_says_was_saved_is_true(
    disk: FullDisk,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`start --routine hip`; the disk fills once the first step has started; "ready" is heard;
    SIGTERM ends it. The full disk is shown once and spoken once; the last line says what the
    history keeps, and that is what the next start finds and offers."""
    import voicecoach.app as app
    from voicecoach.display import PlainDisplay

    monkeypatch.setenv("VOICECOACH_DATA_DIR", str(disk.root / "data"))
    monkeypatch.setenv("VOICECOACH_CONFIG_DIR", str(tmp_path / "config"))
    spoken: list[str] = []
    _fake_devices(monkeypatch, tmp_path, spoken)
    import io

    shown = io.StringIO()
    monkeypatch.setattr(app, "make_display", lambda: PlainDisplay(shown))
    original = HistoryStore.recorder

    def recorder(self, on_failure=None):
        record = original(self, on_failure)

        def fill_after_first_step(event: SessionEvent) -> None:
            record(event)
            if event.kind == "step_started" and not disk.full:
                disk.fill()

        return fill_after_first_step

    monkeypatch.setattr(HistoryStore, "recorder", recorder)
    ending = threading.Timer(3.5, os.kill, (os.getpid(), signal.SIGTERM))
    ending.start()
    try:
        code = cli.main(["start", "--routine", "hip", "--no-checkins"])
    finally:
        # A session that ended early (a failure) must not leave the SIGTERM pending: it would
        # end the whole test run, not the session.
        ending.cancel()
    assert code == 128 + signal.SIGTERM
    err = capsys.readouterr().err.strip().splitlines()
    assert "Traceback" not in "\n".join(err)
    last = err[-1]
    disk.free()
    with HistoryStore.open(disk.root / "data" / "history.sqlite3") as history:
        (session,) = history.sessions()
        stored = history.events(session.id)
        offer = history.interrupted({"kneeling_psoas_stretch": "kneeling psoas stretch"})
    assert offer is not None and offer.session_id == session.id
    said_full = [s for s in spoken if "the disk is full" in s]
    on_screen = [line for line in shown.getvalue().splitlines() if "the disk is full" in line]
    if any(e.kind == "hold_started" for e in stored):
        # Nothing failed (a page limit that still had room): the plain hint, and it is true.
        assert disk.kind == "page limit"
        assert last.endswith(app.RESUME_HINT) and not said_full and not on_screen
        return
    assert said_full == ["I can't save this session: the disk is full."], (err, stored, spoken)
    assert len(on_screen) == 1 and "history.sqlite3" in on_screen[0]
    assert re.fullmatch(
        r"voicecoach: ended by SIGTERM; the disk is full: the history keeps this session up to "
        r'the (.+), as interrupted: say "resume" at the next start to go on from there',
        last,
    ), last
    assert f"up to the {offer.exercise}" in last
    assert [e.kind for e in stored] == ["session_started", "step_started"]


def test_demo_out_on_a_full_disk_is_one_line_naming_the_file(
    disk: FullDisk,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`demo --out DIR` on a full disk was two tracebacks ending in ENOSPC."""
    monkeypatch.setenv("VOICECOACH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("VOICECOACH_CONFIG_DIR", str(tmp_path / "config"))
    out = disk.root / "out"
    out.mkdir()
    disk.full_file(out / "transcript.txt")
    disk.fill()
    assert cli.main(["demo", "--out", str(out), "--speed", "0"]) == 1
    captured = capsys.readouterr()
    err = captured.err.strip().splitlines()
    assert "Traceback" not in captured.err
    assert len(err) == 1, err
    assert re.fullmatch(
        rf"voicecoach: cannot write {re.escape(str(out / 'transcript.txt'))}: the disk is full"
        r"( \(\d+ kB free\))?; free some space",
        err[0],
    ), err


def test_forget_on_a_full_disk_says_what_it_did(disk: FullDisk) -> None:
    """`history --forget` deletes in one transaction, then wipes the freed pages (VACUUM needs
    room for a copy): either step failing is one line saying whether anything was deleted."""
    db = disk.root / "data" / "history.sqlite3"
    events = _session_events()
    with HistoryStore.open(db) as history:
        for event in events:
            history.record(event)
    message = ""
    with HistoryStore.open(db) as history:
        disk.fill()
        try:
            history.forget()
        except HistoryWriteError as exc:
            message = str(exc)
    disk.free()
    with HistoryStore.open(db, read_only=True) as history:
        left = history.sessions()
    if not message:
        # A page limit frees the deleted pages and VACUUM copies outside it: nothing failed.
        assert disk.kind == "page limit" and left == []
        return
    assert "the disk is full" in message and "\n" not in message, message
    if message.startswith("cannot forget the sessions in"):
        assert message.endswith("nothing was deleted") and len(left) == 1
    else:
        assert message.startswith("deleted every session, but cannot wipe") and left == []


def test_an_events_log_on_a_full_disk_stops_quietly_and_closes(disk: FullDisk) -> None:
    """`start --events FILE` with FILE on a disk that fills: the log stops (said once in the
    log), the session is not stopped, and closing it is no traceback."""
    from voicecoach.eventlog import EventLog, read_events

    path = disk.root / "events.jsonl"
    disk.full_file(path)
    log = EventLog(path)
    log.app("starting", pid=1)
    disk.fill()
    for n in range(2000):  # past any buffer
        log.app("tick", n=n, pad="x" * 100)
    log.close()
    disk.free()
    if disk.kind == "tmpfs":
        kept = read_events(path)
        assert kept and kept[0]["what"] == "starting"
        assert len(kept) < 2001


@pytest.mark.parametrize(
    ("events_saved", "expected"),
    [
        (0, "the disk is full: nothing of this session was saved"),
        (
            1,
            "the disk is full: the history keeps only the start of this session, nothing to resume",
        ),
        (
            3,
            "the disk is full: the history keeps this session up to the kneeling psoas stretch, "
            'left side, as interrupted: say "resume" at the next start to go on from there',
        ),
        (len(_session_events()), None),
    ],
)
def test_what_is_said_about_the_history_is_what_it_keeps(
    disk: FullDisk, events_saved: int, expected: str | None
) -> None:
    """The last line of `start` is read from what the store committed; here it is checked
    against the events the store was let write before the disk filled."""
    from voicecoach.app import what_was_saved

    db = disk.root / "data" / "history.sqlite3"
    events = _session_events()
    with HistoryStore.open(db) as history:
        record = history.recorder()
        for i, event in enumerate(events):
            if i == events_saved and disk.kind == "tmpfs":
                disk.fill()
            if disk.kind == "page limit" and i == events_saved:
                # A page limit fails only once the pages in hand are used up: stop the writes
                # at the same event by hand, as the store does after its first failure.
                history.write_failure = HistoryWriteError("the disk is full", disk_full=True)
            record(event)
        said = what_was_saved(history, {"kneeling_psoas_stretch": "kneeling psoas stretch"})
    assert said == expected
