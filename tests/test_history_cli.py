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
from test_history import FakeWall, record_all, whole_session

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
    assert out.strip() == f"wrote {out_file} (4 sessions)"
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
    from voicecoach.plot import daily_totals

    with HistoryStore.open(history, read_only=True) as store:
        records = store.sessions()
    today = [d for d in daily_totals(records) if d.day == today_at(9).date()]
    assert len(today) == 1
    assert (today[0].completed, today[0].counted) == (2, 1)
