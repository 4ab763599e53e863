"""A disk that fills up, for the tests of what the coach does then (issue 20).

Where the test may mount (root, as here and in CI), a small tmpfs: `fill()` writes a filler file
until the kernel says ENOSPC, `free()` deletes it. Every writer then meets the real thing.

Where mount is refused, SQLite's writes are made to fail the way a full disk makes them fail:
each history connection gets `PRAGMA max_page_count` at the file's current size ("database or
disk is full", SQLITE_FULL) and a new file 512-byte pages, so a few events fill it. Plain files
(the demo's output) are pointed at /dev/full, whose writes fail with ENOSPC. A test in that mode
says so with a warning; it never skips.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import sqlite3
import subprocess
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

TMPFS_SIZE = "256k"


class FullDisk:
    """A directory on a disk the test can fill and free again."""

    def __init__(self, root: Path, kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
        self.root = root
        self.kind = kind
        """"tmpfs" (a real full disk) or "page limit" (SQLite's writes made to fail)."""
        self.full = False
        self._filler = root / ".filler"
        self._connections: list[sqlite3.Connection] = []
        if kind == "page limit":
            import voicecoach.history.schema as history

            original = history.connect

            def connect(path: Path) -> sqlite3.Connection:
                if not path.exists() or path.stat().st_size == 0:
                    with contextlib.closing(sqlite3.connect(path)) as fresh:
                        fresh.execute("PRAGMA page_size = 512")
                        fresh.execute("VACUUM")
                conn = original(path)
                self._connections.append(conn)
                if self.full:
                    self._limit(conn)
                return conn

            monkeypatch.setattr(history, "connect", connect)

    @staticmethod
    def _limit(conn: sqlite3.Connection) -> None:
        with contextlib.suppress(sqlite3.ProgrammingError):  # closed since
            pages = conn.execute("PRAGMA page_count").fetchone()[0]
            conn.execute(f"PRAGMA max_page_count = {max(1, pages)}")

    def fill(self) -> None:
        """Leave no space: from now on every write that needs more space fails."""
        self.full = True
        if self.kind == "tmpfs":
            block = b"\0" * 4096
            with self._filler.open("ab", buffering=0) as f:
                try:
                    while f.write(block):
                        pass
                except OSError as exc:
                    assert exc.errno == errno.ENOSPC, exc
            return
        for conn in self._connections:
            self._limit(conn)

    def free(self) -> None:
        """Give the space back."""
        self.full = False
        if self.kind == "tmpfs":
            self._filler.unlink(missing_ok=True)
            return
        for conn in self._connections:
            with contextlib.suppress(sqlite3.ProgrammingError):
                conn.execute("PRAGMA max_page_count = 1073741823")

    def full_file(self, path: Path) -> None:
        """Make writes to `path` fail with ENOSPC in either mode (for plain files)."""
        if self.kind != "tmpfs":
            path.parent.mkdir(parents=True, exist_ok=True)
            path.unlink(missing_ok=True)
            path.symlink_to("/dev/full")


def _try_mount(target: Path) -> bool:
    mount, umount = shutil.which("mount"), shutil.which("umount")
    if mount is None or umount is None or os.geteuid() != 0:
        return False
    target.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        [mount, "-t", "tmpfs", "-o", f"size={TMPFS_SIZE},mode=0755", "tmpfs", str(target)],
        capture_output=True,
        timeout=10,
        check=False,
    )
    return proc.returncode == 0


@contextlib.contextmanager
def full_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, want: str = "tmpfs"
) -> Iterator[FullDisk]:
    """A FullDisk under `tmp_path`: a tmpfs if `want` says so and it can be mounted (else the
    page limit, with a warning), or the page limit when `want` asks for it."""
    root = tmp_path / f"disk-{uuid.uuid4().hex[:8]}"
    if want == "tmpfs":
        if _try_mount(root):
            try:
                yield FullDisk(root, "tmpfs", monkeypatch)
            finally:
                subprocess.run(["umount", "-l", str(root)], capture_output=True, check=False)
            return
        warnings.warn(
            "cannot mount a tmpfs here: the full disk is SQLite's page limit and /dev/full",
            stacklevel=3,
        )
    root.mkdir(parents=True, exist_ok=True)
    yield FullDisk(root, "page limit", monkeypatch)
