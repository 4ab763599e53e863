"""`voicecoach history`: table, JSON, CSV, plot, --forget and bad input, on a real SQLite file."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from _person import as_person

from tests.history.helpers import FakeWall, record_all, whole_session
from voicecoach import cli
from voicecoach.history import HistoryStore
from voicecoach.messages import SessionEvent


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "data"
    monkeypatch.setenv("VOICECOACH_DATA_DIR", str(directory))
    return directory


def today_at(hour: int) -> datetime:
    return datetime.now().astimezone().replace(hour=hour, minute=0, second=0, microsecond=0)


@pytest.fixture
def history(data_dir: Path) -> Path:
    """Two completed sessions today, one yesterday, one stopped five days ago."""
    db = data_dir / "history.sqlite3"
    wall = FakeWall(today_at(7) - timedelta(days=5))
    with HistoryStore.open(db, wall=wall) as store:
        record_all(store, [*whole_session()[:6], SessionEvent("stopped", 130.0, "release")])
        wall.now = today_at(7) - timedelta(days=1)
        record_all(store, whole_session())
        wall.now = today_at(8)
        record_all(store, whole_session())
        wall.now = today_at(9)
        record_all(store, whole_session(routine="hip", counts_for="hip"))
    return db


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = cli.main(["history", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_table_shows_sessions_daily_count_and_streak(
    history: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run([], capsys)
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0].split() == [
        "date",
        "routine",
        "status",
        "duration",
        "holds",
        "pain",
        "skips",
        "added",
        "stiffness",
    ]
    rows = lines[2:6]
    assert len(rows) == 4
    assert "stopped" in rows[0] and "6 → ?" in rows[0]
    day = today_at(9)
    assert rows[3].startswith(f"{day:%Y-%m-%d} 09:00  hip")
    assert "L 1 R 1" in rows[3] and "+0:15" in rows[3] and "6 → 3" in rows[3]
    duration = whole_session()[-1].at - whole_session()[0].at
    assert f"{int(duration // 60)}:{round(duration % 60):02d}" in rows[3]
    # The advice is the kneeling stretch's: only the hip session today counts towards it.
    assert lines[6] == (
        "today: 2 completed sessions, 1 with the kneeling stretch (advised: 2 to 3 times daily): "
        "1 so far"
    )
    assert lines[7] == "streak: 2 days in a row"


def test_a_session_with_every_exercise_skipped_is_listed_as_all_skipped(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.history.test_reading import _all_skipped_events

    with HistoryStore.open(data_dir / "history.sqlite3", wall=FakeWall(today_at(7))) as store:
        record_all(store, _all_skipped_events())
    code, out, _ = run([], capsys)
    assert code == 0
    [row] = out.splitlines()[2:3]
    assert "all skipped" in row and "stopped" not in row and "completed" not in row
    code, out, _ = run(["--json"], capsys)
    assert [r["status"] for r in json.loads(out)] == ["skipped"]


def test_rich_table_on_a_terminal(
    history: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    code, out, _ = run(["--days", "1"], capsys)
    assert code == 0
    assert "voicecoach sessions" in out and "hip" in out and "6 → 3" in out
    assert out.count("completed") == 3 and "stopped" not in out  # 2 rows + the today line


def test_days_limits_the_rows(history: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["--days", "2", "--json"], capsys)
    assert code == 0
    assert [r["routine"] for r in json.loads(out)] == ["release", "release", "hip"]


def test_json_is_one_record_per_session(history: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["--json"], capsys)
    assert code == 0
    records = json.loads(out)
    with HistoryStore.open(history, read_only=True) as store:
        assert records == [r.as_dict() for r in store.sessions()]
    assert [r["status"] for r in records] == ["stopped", "completed", "completed", "completed"]
    last = records[-1]
    assert last["holds"] == {"left": 1, "right": 1}
    assert last["stiffness_before"] == 6 and last["stiffness_after"] == 3
    assert last["seconds_added"] == 15 and last["skips"] == 1


def test_csv_is_one_row_per_session(history: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["--csv"], capsys)
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == 4
    assert rows[-1]["routine"] == "hip"
    assert (rows[-1]["holds_left"], rows[-1]["holds_right"]) == ("1", "1")
    assert (rows[-1]["stiffness_before"], rows[-1]["stiffness_after"]) == ("6", "3")
    assert rows[0]["stiffness_after"] == ""


def test_json_and_csv_together_is_refused(history: Path) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.main(["history", "--json", "--csv"])
    assert exit_.value.code == 2


def test_plot_writes_a_png(
    history: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import matplotlib.image

    out_file = tmp_path / "progress.png"
    code, out, err = run(["--plot", str(out_file)], capsys)
    assert code == 0 and err == ""
    today = today_at(7).date()
    week = f"{today - timedelta(days=6):%d %b %Y} to {today:%d %b %Y}"
    assert out.strip() == f"wrote {out_file} (4 sessions, {week})"
    assert out_file.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    image = matplotlib.image.imread(out_file)
    assert image.shape[0] > 400 and image.shape[1] > 800
    assert image.std() > 0.05  # not a blank canvas


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--days", "abc"], "--days must be a whole number of days, 1 or more (got 'abc')"),
        (["--days", "0"], "--days must be a whole number of days, 1 or more (got '0')"),
        (["--days=-3"], "--days must be a whole number of days, 1 or more (got '-3')"),
        (["--plot", "out.jpg"], "--plot writes a PNG: give a file name ending in .png"),
        (["--plot", "/nonexistent-dir/x.png"], "cannot write the plot to /nonexistent-dir/x.png"),
        (["--yes"], "--yes only goes with --forget"),
    ],
)
def test_bad_input_is_one_line_and_an_error(
    history: Path, argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(argv, capsys)
    assert code == 1
    assert out == ""
    assert err.startswith(f"voicecoach: {message}") and err.count("\n") == 1


def test_unwritable_plot_directory(
    history: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    if os.access(locked, os.W_OK):
        pytest.skip("running as a user who can write anywhere (root)")
    code, _, err = run(["--plot", str(locked / "p.png")], capsys)
    assert code == 1
    assert err == f"voicecoach: cannot write the plot to {locked / 'p.png'}: permission denied\n"


def test_plot_write_failure_is_one_line(history: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # /sys refuses new files even to root, so this reaches the save itself, not the pre-check.
    code, out, err = run(["--plot", "/sys/voicecoach-test.png"], capsys)
    assert code == 1 and out == ""
    assert err.startswith("voicecoach: cannot write the plot to /sys/voicecoach-test.png: ")
    assert err.count("\n") == 1 and "Traceback" not in err


def test_no_history_yet(data_dir: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, err = run([], capsys)
    assert code == 0 and err == ""
    assert out == f"no sessions recorded yet (history: {data_dir / 'history.sqlite3'})\n"
    assert run(["--json"], capsys)[:2] == (0, "[]\n")
    code, out, err = run(["--plot", str(tmp_path / "p.png")], capsys)
    assert code == 1 and out == ""
    assert err.startswith("voicecoach: no history yet") and err.count("\n") == 1
    assert not (tmp_path / "p.png").exists()


def test_no_sessions_in_range(
    data_dir: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    wall = FakeWall(today_at(7) - timedelta(days=10))
    with HistoryStore.open(data_dir / "history.sqlite3", wall=wall) as store:
        record_all(store, whole_session())
    code, out, _ = run(["--days", "3"], capsys)
    assert code == 0
    assert out.splitlines()[0] == "no sessions in the last 3 days"
    code, _, err = run(["--days", "3", "--plot", str(tmp_path / "p.png")], capsys)
    assert code == 1 and "nothing to plot" in err


def test_history_can_be_read_while_a_session_is_recording(
    history: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with HistoryStore.open(history) as store:
        record_all(store, whole_session()[:4])
        code, out, _ = run(["--json"], capsys)
        assert code == 0
        assert json.loads(out)[-1]["status"] == "running"
    code, out, _ = run(["--json"], capsys)
    assert json.loads(out)[-1]["status"] == "interrupted"


def test_forget_needs_confirmation(
    history: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("no\n"))
    code, out, err = run(["--forget"], capsys)
    assert code == 1
    assert "Delete 4 recorded sessions" in err and "history kept (not confirmed)" in err
    with HistoryStore.open(history, read_only=True) as store:
        assert len(store.sessions()) == 4

    monkeypatch.setattr(sys, "stdin", io.StringIO(""))  # no answer at all (EOF) keeps it too
    assert run(["--forget"], capsys)[0] == 1

    monkeypatch.setattr(sys, "stdin", io.StringIO("yes\n"))
    code, out, err = run(["--forget"], capsys)
    assert code == 0
    assert out == f"deleted 4 recorded sessions in {history}\n"
    with HistoryStore.open(history, read_only=True) as store:
        assert store.sessions() == []
    assert b"kneeling hip flexor" not in history.read_bytes()


def test_forget_yes_skips_the_prompt_and_removes_set_aside_copies(
    history: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    aside = history.with_name("history.sqlite3.corrupt-20260101T000000")
    aside.write_bytes(b"old damaged history")
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    code, out, err = run(["--forget", "--yes"], capsys)
    assert code == 0 and err == ""
    assert out.startswith("deleted 4 recorded sessions") and "1 set-aside damaged file" in out
    assert not aside.exists()
    code, out, _ = run([], capsys)
    assert out.startswith("no sessions recorded yet")


def test_forget_is_refused_while_a_session_runs(
    history: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with HistoryStore.open(history):
        code, _, err = run(["--forget", "--yes"], capsys)
    assert code == 1
    assert err == f"voicecoach: another voicecoach session is running (pid {os.getpid()})\n"


def test_forget_without_history(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["--forget", "--yes"], capsys)
    assert code == 0 and out.startswith("no history to forget")


def test_damaged_file_is_reported_not_traced(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir.mkdir()
    (data_dir / "history.sqlite3").write_bytes(b"garbage" * 500)
    code, out, err = run([], capsys)
    assert code == 1 and out == ""
    assert "is damaged" in err and err.count("\n") == 1


def test_malformed_file_with_a_good_header_is_reported_not_traced(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Page 1 intact, the tables' pages overwritten: opening works, reading the rows fails."""
    db = data_dir / "history.sqlite3"
    with HistoryStore.open(db, wall=FakeWall(today_at(7))) as store:
        for _ in range(30):
            record_all(store, whole_session())
    size = db.stat().st_size
    data = bytearray(db.read_bytes())
    data[4096 : size - 4096] = b"\xa5" * (size - 8192)
    db.write_bytes(bytes(data))
    for argv in ([], ["--json"], ["--plot", str(data_dir / "h.png")]):
        code, out, err = run(argv, capsys)
        assert code == 1 and out == ""
        assert "is damaged" in err and err.count("\n") == 1, err
    assert db.read_bytes() == bytes(data)  # reading never moves or changes it


def test_a_huge_days_means_everything(
    history: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """--days 99999999 reaches back past year 1: that is all of the history, not an error."""
    code, out, err = run(["--days", "99999999", "--json"], capsys)
    assert code == 0 and err == ""
    assert len(json.loads(out)) == 4
    code, out, err = run(["--days", "99999999999", "--plot", str(tmp_path / "all.png")], capsys)
    assert code == 0 and err == "" and out.startswith("wrote ")


def test_real_command_line_has_no_traceback(data_dir: Path) -> None:
    env = {**os.environ, "VOICECOACH_DATA_DIR": str(data_dir)}
    result = subprocess.run(
        [sys.executable, "-m", "voicecoach", "history", "--days", "x"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr == (
        "voicecoach: --days must be a whole number of days, 1 or more (got 'x')\n"
    )


def test_output_into_a_closed_pipe_is_not_a_traceback(data_dir: Path) -> None:
    wall = FakeWall(today_at(7) - timedelta(days=30))
    with HistoryStore.open(data_dir / "history.sqlite3", wall=wall) as store:
        for _ in range(200):  # more JSON than a pipe buffers, so the write really fails
            record_all(store, whole_session())
            wall.advance(hours=3)
    env = {**os.environ, "VOICECOACH_DATA_DIR": str(data_dir)}
    result = subprocess.run(
        f"'{sys.executable}' -m voicecoach history --json | head -c 10",
        shell=True,
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert result.stdout == "[\n  {\n    "
    assert result.stderr == ""


# --- bad input (issue 11): unreadable, read-only, foreign rows, empty files, the plot ---------


def person(argv: list[str], data_dir: Path) -> subprocess.CompletedProcess[str]:
    return as_person(argv, {"VOICECOACH_DATA_DIR": data_dir})


def open_writable_as_person(data_dir: Path) -> subprocess.CompletedProcess[str]:
    """What `start` does with the history before its session, as the person."""
    code = (
        "import sys\n"
        "from voicecoach.errors import VoicecoachError\n"
        "from voicecoach.history import HistoryStore\n"
        "try:\n"
        "    HistoryStore.open().close()\n"
        "except VoicecoachError as exc:\n"
        "    sys.exit(f'voicecoach: {exc}')\n"
    )
    return as_person(["-c", code], {"VOICECOACH_DATA_DIR": data_dir}, python=True)


def assert_refused(proc: subprocess.CompletedProcess[str], *expected: str) -> None:
    assert proc.returncode == 1, proc
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr, proc.stderr
    for text in expected:
        assert text in proc.stderr, proc.stderr


def test_an_unreadable_history_is_never_set_aside(history: Path) -> None:
    before = history.read_bytes()
    history.chmod(0o000)
    try:
        for proc in (
            open_writable_as_person(history.parent),
            person(["history", "--forget", "--yes"], history.parent),
            person(["history"], history.parent),
        ):
            assert_refused(
                proc, f"cannot open the history file {history}: Permission denied (mode 000"
            )
        assert list(history.parent.glob("*.corrupt-*")) == []
    finally:
        history.chmod(0o600)
    assert history.read_bytes() == before
    proc = person(["history", "--json"], history.parent)
    assert proc.returncode == 0 and len(json.loads(proc.stdout)) == 4  # all four still there


def test_a_history_directory_without_access_is_refused_not_replaced(history: Path) -> None:
    directory = history.parent
    before = history.read_bytes()
    directory.chmod(0o000)
    try:
        for proc in (
            open_writable_as_person(directory),
            person(["history", "--forget", "--yes"], directory),
            person(["history", "--json"], directory),
        ):
            assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
            assert proc.stderr.count("\n") == 1 and "Permission denied" in proc.stderr
    finally:
        directory.chmod(0o700)
    assert history.read_bytes() == before
    assert sorted(p.name for p in directory.iterdir()) == [
        "history.sqlite3",
        "history.sqlite3.lock",
    ]


def test_a_read_only_history_is_read_without_writing_beside_it(history: Path) -> None:
    directory = history.parent
    names = sorted(p.name for p in directory.iterdir())
    assert "history.sqlite3-wal" not in names  # the writer closed: nothing left beside it
    for argv in (["history"], ["history", "--json"], ["history", "--csv"]):
        proc = person(argv, directory)
        assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    assert sorted(p.name for p in directory.iterdir()) == names  # no -wal, no -shm
    history.chmod(0o400)
    directory.chmod(0o500)
    try:
        proc = person(["history", "--json"], directory)
        assert proc.returncode == 0 and proc.stderr == "", proc.stderr
        assert len(json.loads(proc.stdout)) == 4
    finally:
        directory.chmod(0o700)
        history.chmod(0o600)
    assert sorted(p.name for p in directory.iterdir()) == names


def test_rows_voicecoach_did_not_write_are_skipped_with_a_warning(
    history: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    import sqlite3

    conn = sqlite3.connect(history)
    stamp = today_at(10).isoformat()
    conn.execute(
        "INSERT INTO sessions (id, started, status) VALUES (90, 'not a date', 'completed')"
    )
    conn.execute(f"INSERT INTO sessions (id, started, status) VALUES (91, '{stamp}', 'completed')")
    rows = [
        (700, 91, "session_started", 0.0, "{not json"),
        (701, 91, "hold_ended", 1.0, '{"achieved_s": 1e999}'),
        (702, 91, "finished", float("inf"), "{}"),
        (703, 91, "skipped", "soon", "{}"),
        (704, 91, "finished", 30.0, '{"completed": true}'),
        (705, 91, "rating", 31.0, '{"phase": "after", "value": ' + "9" * 400 + "}"),
        (706, 91, "extended", 32.0, '{"seconds": 1e308}'),
        (707, 90, "finished", 1.0, '{"counts_for": ["hip"]}'),  # a good row of a bad session
    ]
    conn.executemany(
        "INSERT INTO events (id, session_id, kind, at, wall, data) VALUES (?, ?, ?, ?, '', ?)",
        rows,
    )
    conn.commit()
    conn.close()
    expected_warnings = [
        f"voicecoach: warning: {history}: skipped session 90: its start time 'not a date' is "
        "not a date and time",
        f"voicecoach: warning: {history}: skipped event 700 of session 91: its data '{{not json' "
        "is not a JSON object",
        f"voicecoach: warning: {history}: skipped event 701 of session 91: its data "
        "'{\"achieved_s\": 1e999}' holds a number out of range",
        f"voicecoach: warning: {history}: skipped event 702 of session 91: its time inf is not a "
        "number of seconds",
        f"voicecoach: warning: {history}: skipped event 703 of session 91: its time 'soon' is not "
        "a number of seconds",
        f"voicecoach: warning: {history}: skipped event 705 of session 91: its value "
        f"{'9' * 37}... is not from 0 to 10",
        f"voicecoach: warning: {history}: skipped event 706 of session 91: its seconds 1e+308 is "
        "not from 0 to 86400",
    ]
    for argv in ([], ["--json"], ["--csv"], ["--plot", str(tmp_path / "p.png")]):
        code, out, err = run(argv, capsys)
        assert code == 0, err
        assert sorted(err.splitlines()) == sorted(expected_warnings), err
        if argv == ["--json"]:
            shown = json.loads(out)
            assert [r["id"] for r in shown] == [1, 2, 3, 4, 91]  # the rest, and 91's good rows
            assert shown[-1]["events"] == 1 and shown[-1]["status"] == "completed"
    # The session that starts next reads the same rows: it counts what it can, never crashes.
    with HistoryStore.open(history) as store:
        # two sessions today, 91, and the one about to start
        assert store.progress(today_at(11).date()).sessions_today == 4
        assert store.interrupted() is None


def test_a_zero_length_history_is_no_history_yet(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir.mkdir()
    (data_dir / "history.sqlite3").touch()
    code, out, err = run([], capsys)
    assert (code, err) == (0, "") and out.startswith("no sessions recorded yet")
    code, out, err = run(["--json"], capsys)
    assert (code, out, err) == (0, "[]\n", "")
    code, out, err = run(["--csv"], capsys)
    assert code == 0 and err == "" and out.startswith("id,started,")
    assert (data_dir / "history.sqlite3").stat().st_size == 0  # and still untouched


def test_an_existing_open_data_directory_is_made_private(data_dir: Path) -> None:
    data_dir.mkdir()
    data_dir.chmod(0o777)
    with HistoryStore.open() as store:  # the person's history, as `start` opens it
        assert store.path.parent == data_dir
    assert data_dir.stat().st_mode & 0o777 == 0o700


def test_a_demo_out_directory_keeps_its_mode(tmp_path: Path, data_dir: Path) -> None:
    out = tmp_path / "demo-out"
    out.mkdir()
    out.chmod(0o755)
    with HistoryStore.open(out / "history.sqlite3"):
        pass
    assert out.stat().st_mode & 0o777 == 0o755


def test_a_huge_days_plot_covers_only_the_days_with_data(
    history: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, err = run(["--days", "700000", "--plot", str(tmp_path / "p.png")], capsys)
    assert code == 0 and err == ""
    today = today_at(7).date()
    first = today - timedelta(days=5)  # the oldest session
    assert out.strip().endswith(f"(4 sessions, {first:%d %b %Y} to {today:%d %b %Y})")


def test_days_1_plot_draws_today(
    history: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, err = run(["--days", "1", "--plot", str(tmp_path / "p.png")], capsys)
    assert code == 0 and err == ""
    today = today_at(7).date()
    assert out.strip().endswith(f"(2 sessions, {today:%d %b %Y} to {today:%d %b %Y})")


def test_plot_axis_names_the_month_of_every_label(tmp_path: Path) -> None:
    import re
    from datetime import date

    from voicecoach.history import SessionRecord
    from voicecoach.history.plot import plot_history

    def on(day: date) -> SessionRecord:
        started = datetime(day.year, day.month, day.day, 8).astimezone()
        return SessionRecord(1, started, "hip", "completed", 300.0)

    records = [on(date(2026, 11, 19)), on(date(2026, 12, 29))]
    drawn = plot_history(records, tmp_path / "p.png")
    assert len(drawn.ticks) >= 4
    assert all(re.fullmatch(r"\d{1,2} (Nov|Dec)", tick) for tick in drawn.ticks), drawn.ticks
    assert any("Nov" in t for t in drawn.ticks) and any("Dec" in t for t in drawn.ticks)
    years = [on(date(2024, 1, 5)), on(date(2026, 12, 29))]
    drawn = plot_history(years, tmp_path / "y.png")
    assert drawn.first == date(2024, 12, 29)  # two years at most, ending with the last day
    assert all(re.fullmatch(r"[A-Z][a-z]{2} 20\d\d", tick) for tick in drawn.ticks), drawn.ticks
    one = plot_history([on(date(2026, 12, 29))], tmp_path / "o.png", first=date(2026, 12, 29))
    assert one.ticks == ("29 Dec",) and one.first == one.last == date(2026, 12, 29)


def test_release_only_history_says_no_daily_advice(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """ "2 to 3 times daily" is the kneeling stretch's advice: a history of release sessions
    alone gets the count of sessions and nothing about the advice."""
    wall = FakeWall(today_at(8))
    with HistoryStore.open(data_dir / "history.sqlite3", wall=wall) as store:
        record_all(store, whole_session())
    code, out, _ = run([], capsys)
    assert code == 0
    assert "today: 1 completed session" in out.splitlines()
    assert "advised" not in out and "kneeling" not in out


def test_the_plot_counts_only_kneeling_stretch_sessions_towards_the_advice(
    history: Path,
) -> None:
    from voicecoach.history.plot import daily_totals

    with HistoryStore.open(history, read_only=True) as store:
        records = store.sessions()
    today = [d for d in daily_totals(records) if d.day == today_at(9).date()]
    assert len(today) == 1
    assert (today[0].completed, today[0].counted) == (2, 1)


def test_retries_after_pain_are_stored_as_the_spoken_summary_tells_them(
    data_dir: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Issue 19: the right side stopped by pain twice (8.9 s and 8.4 s), then skipped, was
    "R 2" holds and 17.3 s held in the history while the coach said "right, skipped" and "Pain
    stopped two holds". The record, --json, --csv, the table and the plot now say what the
    coach said: the left side held, the right side not, two holds stopped by pain."""
    from _history_proc import library, say

    from voicecoach.clock import FakeClock
    from voicecoach.dialog import Dialog
    from voicecoach.history.plot import daily_totals
    from voicecoach.session import Session

    db = data_dir / "history.sqlite3"
    with HistoryStore.open(db, wall=FakeWall(today_at(9))) as store:
        session = Session(library(), checkins=False, on_event=store.recorder())
        clock = FakeClock(100.0)
        say(session, clock, "start_routine", routine="hip")
        say(session, clock, "ready")
        clock.advance(30.0)
        say(session, clock, "time_left")  # the left side runs out: done
        for held in (8.9, 8.4):
            say(session, clock, "ready")
            clock.advance(held)
            say(session, clock, "pain")
        say(session, clock, "skip")  # the right side
        say(session, clock, "skip")  # the deeper variation, left out
        summary = session.summary
        assert summary is not None
        spoken = Dialog().render_summary(summary, {"kneeling_psoas_stretch": "kneeling stretch"})
    assert "right, skipped" in spoken and "Pain stopped two holds" in spoken, spoken
    assert [(r.side, r.achieved_s, r.stopped) for r in summary.results[:2]] == [
        ("left", 30.0, 0),
        ("right", 0.0, 2),
    ]

    code, out, _ = run(["--json"], capsys)
    assert code == 0
    [record] = json.loads(out)
    assert record["holds"] == {"left": 1}
    assert record["held_s"] == {"left": 30.0}
    assert record["pain_stopped"] == 2
    code, out, _ = run(["--csv"], capsys)
    assert code == 0
    [row] = list(csv.DictReader(io.StringIO(out)))
    assert (row["holds_left"], row["holds_right"], row["held_right_s"]) == ("1", "0", "0.0")
    assert row["pain_stopped"] == "2"
    code, out, _ = run([], capsys)
    assert code == 0
    header, _rule, line = out.splitlines()[:3]
    assert line.split()[header.split().index("holds") + 1 :][:4] == ["L", "1", "2", "1"]
    with HistoryStore.open(db, read_only=True) as store:
        [day] = [d for d in daily_totals(store.sessions()) if d.sessions]
    assert day.minutes == pytest.approx(30.0 / 60)  # time held, not the session's length
