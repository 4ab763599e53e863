"""Temporary directories named after the process that made them, and the cleanup of those a
killed process left behind (adapter: the file system).

A session killed with SIGKILL (or the power going) never runs its cleanup, and each such run
left a `/tmp/voicecoach-tts-*` directory behind. Each directory's name carries its process id;
a later start removes the ones whose process is gone.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import tempfile
import time
from pathlib import Path

_LOGGER = logging.getLogger(__name__)

PREFIX = "voicecoach-"
_OURS = re.compile(r"^voicecoach-(?:tts|demo|sample)-(?:(\d+)-)?[A-Za-z0-9_]+$")
UNNAMED_STALE_S = 24 * 3600.0
"""A directory from before names carried a process id is stale once a day old."""


def scratch_dir(kind: str) -> tempfile.TemporaryDirectory[str]:
    """A temporary directory `voicecoach-KIND-PID-XXXX`, removed when closed."""
    return tempfile.TemporaryDirectory(
        prefix=f"{PREFIX}{kind}-{os.getpid()}-", ignore_cleanup_errors=True
    )


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True


def clean_stale(directory: Path | None = None, *, now: float | None = None) -> list[Path]:
    """Remove our temporary directories whose process is gone; returns those removed. Another
    user's, a running process's and anything not ours are left alone."""
    directory = Path(directory or tempfile.gettempdir())
    now = time.time() if now is None else now
    removed: list[Path] = []
    try:
        entries = list(directory.iterdir())
    except OSError as exc:
        _LOGGER.info("cannot look for stale temporary directories in %s: %s", directory, exc)
        return removed
    for entry in entries:
        match = _OURS.match(entry.name)
        if match is None:
            continue
        try:
            info = entry.lstat()
        except OSError:
            continue
        if not entry.is_dir() or entry.is_symlink() or info.st_uid != os.getuid():
            continue
        pid = match.group(1)
        if pid is not None:
            stale = int(pid) != os.getpid() and not _alive(int(pid))
        else:
            stale = now - info.st_mtime > UNNAMED_STALE_S
        if stale:
            with contextlib.suppress(OSError):
                shutil.rmtree(entry)
                removed.append(entry)
    if removed:
        _LOGGER.info("removed %d stale temporary directories in %s", len(removed), directory)
    return removed
