"""Temporary directories a killed session left behind are cleaned at the next start, and only
those (issue 20: each killed session left a /tmp/voicecoach-tts-* directory)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from voicecoach.scratch import UNNAMED_STALE_S, clean_stale, scratch_dir


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_only_the_directories_of_gone_processes_are_removed(tmp_path: Path) -> None:
    dead = _dead_pid()
    stale = [tmp_path / f"voicecoach-{kind}-{dead}-abc123_x" for kind in ("tts", "demo", "sample")]
    mine = tmp_path / f"voicecoach-tts-{os.getpid()}-zzzz1234"
    alive = tmp_path / "voicecoach-tts-1-init0000"  # pid 1 is always running
    old_unnamed = tmp_path / "voicecoach-tts-q8w7e6r5"
    new_unnamed = tmp_path / "voicecoach-tts-a1b2c3d4"
    others = [tmp_path / f"other-tts-{dead}-abc", tmp_path / f"voicecoach-notes-{dead}-x"]
    for d in [*stale, mine, alive, old_unnamed, new_unnamed, *others]:
        d.mkdir()
        (d / "g1-1.wav").write_bytes(b"RIFF")
    a_file = tmp_path / f"voicecoach-tts-{dead}-file"
    a_file.write_text("not a directory")
    day_ago = time.time() - UNNAMED_STALE_S - 60
    os.utime(old_unnamed, (day_ago, day_ago))
    removed = clean_stale(tmp_path)
    assert sorted(removed) == sorted([*stale, old_unnamed])
    assert not any(d.exists() for d in removed)
    assert all(d.exists() for d in [mine, alive, new_unnamed, *others, a_file])


def test_a_scratch_dir_carries_its_process_id_and_goes_when_closed() -> None:
    with scratch_dir("tts") as name:
        assert Path(name).name.startswith(f"voicecoach-tts-{os.getpid()}-")
        assert Path(name).is_dir()
    assert not Path(name).exists()


def test_a_killed_process_leaves_its_directory_and_the_next_start_removes_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code = (
        "import sys, time\n"
        "from voicecoach.scratch import scratch_dir\n"
        "d = scratch_dir('tts')\n"
        "print(d.name, flush=True)\n"
        "time.sleep(60)\n"
    )
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, env=env
    )
    assert proc.stdout is not None
    left = Path(proc.stdout.readline().strip())
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert left.is_dir() and left.parent == tmp_path
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)  # read TMPDIR again
    assert clean_stale() == [left]
    assert not left.exists()
