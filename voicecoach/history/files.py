"""The history's files: where it lives, its private directory and files, the single-writer
lock, setting a damaged file aside, and telling a full disk from other write errors."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import os
import sqlite3
import stat
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from voicecoach import paths
from voicecoach.errors import VoicecoachError

if TYPE_CHECKING:
    pass


_LOGGER = logging.getLogger(__name__)

DB_NAME = "history.sqlite3"
Wall = Callable[[], datetime]


class NoHistoryYet(VoicecoachError):
    """There is no history file, or it holds no sessions table yet (e.g. zero bytes)."""


class HistoryWriteError(VoicecoachError):
    """The history could not be written (a full disk, an I/O error). The transaction that failed
    left nothing behind, and what was committed before it is kept."""

    def __init__(self, message: str, *, disk_full: bool = False) -> None:
        super().__init__(message)
        self.disk_full = disk_full


DISK_NEARLY_FULL_BYTES = 1 << 20
"""Free space under which an I/O error while writing the history is taken for a full disk:
SQLite reports a full disk as "database or disk is full" while appending to its log, but as
"disk I/O error" when it cannot grow its 32 kB shared-memory file (tmpfs, measured)."""


def default_wall() -> datetime:
    """The local wall-clock time, with its UTC offset."""
    return datetime.now().astimezone()


def default_path() -> Path:
    """Where the history lives: `history.sqlite3` in the user's data directory."""
    return paths.data_dir() / DB_NAME


def lock_path(db_path: Path) -> Path:
    """The writer lock file that goes with a history database."""
    return db_path.with_name(db_path.name + ".lock")


def set_aside_copies(db_path: Path) -> list[Path]:
    """Damaged databases that were moved aside next to `db_path` (with their -wal/-shm files)."""
    return sorted(db_path.parent.glob(db_path.name + ".corrupt-*"))


def _damaged(path: Path, exc: sqlite3.DatabaseError) -> VoicecoachError:
    return VoicecoachError(
        f"history file {path} is damaged ({exc}); the next session sets it aside and "
        "starts a fresh one"
    )


def _ensure_private_dir(directory: Path, *, tighten: bool = False) -> None:
    """Create the history's directory as 0700; with `tighten` (the user's own data directory)
    an existing one that others may read is made 0700 too."""
    try:
        info = directory.stat()
    except FileNotFoundError:
        info = None
    except OSError as exc:
        raise VoicecoachError(
            f"cannot open the history directory {directory}: {exc.strerror or exc}"
        ) from None
    if info is not None:
        if tighten and info.st_mode & 0o077 and info.st_uid == os.getuid():
            try:
                os.chmod(directory, 0o700)
                _LOGGER.info("history: made %s private (was %o)", directory, info.st_mode & 0o777)
            except OSError as exc:
                _LOGGER.warning("history: could not make %s private: %s", directory, exc)
        return
    try:
        directory.mkdir(parents=True, mode=0o700)
        os.chmod(directory, 0o700)  # mkdir's mode is filtered by the umask
    except OSError as exc:
        raise VoicecoachError(f"cannot create the history directory {directory}: {exc}") from None


def _same_dir(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False


def _check_access(path: Path, *, write: bool) -> bool:
    """Whether the history file exists; VoicecoachError (one line naming the file and the
    permission) when it, or its directory, cannot be opened as needed. Such a file is healthy
    as far as anyone knows and is never set aside."""
    try:
        info = path.stat()
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise VoicecoachError(
            f"cannot open the history file {path}: {exc.strerror or exc} (on its directory "
            f"{path.parent}); nothing was changed"
        ) from None
    if not stat.S_ISREG(info.st_mode):
        raise VoicecoachError(f"history file {path} is not a file; move it away")
    try:
        fd = os.open(path, os.O_RDWR if write else os.O_RDONLY)
        os.close(fd)
    except OSError as exc:
        need = "read and write" if write else "read"
        raise VoicecoachError(
            f"cannot open the history file {path}: {exc.strerror or exc} (mode "
            f"{stat.S_IMODE(info.st_mode):03o}, owner uid {info.st_uid}; voicecoach needs to "
            f"{need} it); nothing was changed"
        ) from None
    return True


def _touch_private(path: Path) -> None:
    try:
        fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
        os.close(fd)
        os.chmod(path, 0o600)
    except OSError as exc:
        raise _write_error(path, exc, "cannot write") from None


def _private_sidecars(path: Path) -> None:
    # SQLite gives -wal/-shm the main file's mode; this only tightens older, laxer files.
    for suffix in ("-wal", "-shm"):
        sidecar = path.with_name(path.name + suffix)
        with contextlib.suppress(OSError):
            if sidecar.exists():
                os.chmod(sidecar, 0o600)


def _acquire_lock(path: Path) -> int:
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise VoicecoachError(f"cannot open the history lock {path}: {exc}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = _read_pid(fd)
        os.close(fd)
        who = f"pid {holder}" if holder else "pid unknown"
        raise VoicecoachError(f"another voicecoach session is running ({who})") from None
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    except OSError as exc:  # a full disk: the lock holds all the same, only unnamed
        _LOGGER.info("history: could not write the pid into %s: %s", path, exc)
    return fd


def _read_pid(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode(errors="replace").strip()
        return int(text) if text else None
    except (OSError, ValueError):
        return None


def _release_lock(fd: int) -> None:
    with contextlib.suppress(OSError):
        fcntl.flock(fd, fcntl.LOCK_UN)
    os.close(fd)


def _lock_held_elsewhere(path: Path) -> bool:
    if not path.exists():
        return False
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def _move_aside(path: Path, now: datetime) -> Path:
    target = paths.unused_beside(path, "corrupt", now.strftime("%Y%m%dT%H%M%S"))
    try:
        os.replace(path, target)
        for suffix in ("-wal", "-shm"):
            sidecar = path.with_name(path.name + suffix)
            if sidecar.exists():
                os.replace(sidecar, target.with_name(target.name + suffix))
    except OSError as exc:
        raise VoicecoachError(
            f"history file {path} is damaged and cannot be moved aside: {exc}"
        ) from None
    _LOGGER.warning(
        "history file %s was damaged; moved it to %s and started a fresh history", path, target
    )
    return target


def disk_full(path: Path, exc: BaseException) -> bool:
    """Whether a failed write to `path` failed because its disk is full (or nearly: see
    DISK_NEARLY_FULL_BYTES)."""
    if isinstance(exc, OSError):
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
    elif isinstance(exc, sqlite3.Error):
        name = getattr(exc, "sqlite_errorname", "") or ""
        if name == "SQLITE_FULL":
            return True
        if not name.startswith("SQLITE_IOERR"):
            return False
    else:
        return False
    free = free_bytes(path)
    return free is not None and free < DISK_NEARLY_FULL_BYTES


def free_bytes(path: Path) -> int | None:
    """Bytes free (to this user) on the filesystem holding `path` or its nearest parent."""
    for candidate in (path, *path.parents):
        try:
            info = os.statvfs(candidate)
        except OSError:
            continue
        return info.f_bavail * info.f_frsize
    return None


def _write_error(
    path: Path,
    exc: BaseException,
    doing: str,
    then: str = "free some space and start again (nothing saved in it is lost)",
) -> HistoryWriteError:
    """One line naming the file and the cause: a full disk is called that, whatever SQLite's
    words for it were."""
    if disk_full(path, exc):
        free = free_bytes(path)
        left = f" ({free // 1024} kB free)" if free is not None else ""
        return HistoryWriteError(
            f"{doing} the history file {path}: the disk is full{left}; {then}", disk_full=True
        )
    cause = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    return HistoryWriteError(f"{doing} the history file {path}: {cause}; {then}")
