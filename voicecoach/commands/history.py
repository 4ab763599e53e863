"""`voicecoach history`: the recorded sessions as a table, JSON, CSV or a picture; `--forget`.

Reading opens the database read-only (works while a session is being recorded); only --forget
takes the writer lock.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import logging
import os
import sys
from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from voicecoach.errors import VoicecoachError
from voicecoach.history import (
    COMPLETED,
    SKIPPED,
    HistoryStore,
    NoHistoryYet,
    SessionRecord,
    default_path,
    default_wall,
    first_day,
    set_aside_copies,
    streak_ending,
)
from voicecoach.shown import quoted

_LOGGER = logging.getLogger(__name__)

ADVICE = "advised: 2 to 3 times daily"
"""The kneeling stretch source: "Repeat 2 - 3 times daily"; only sessions that held the stretch
count towards it."""
SIDE_ORDER = ("left", "right", "none")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "history",
        help="show the recorded sessions and progress",
        description="Show the recorded sessions: date, routine, duration, sides held, holds "
        "pain stopped, skips, "
        "time added and stiffness before and after; then today's count (the sessions with the "
        "kneeling stretch against its advised 2 to 3 times daily) and the streak.",
    )
    parser.add_argument(
        "--days", metavar="N", help="only the last N days (today counts as the first)"
    )
    fmt = parser.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="one JSON record per session")
    fmt.add_argument("--csv", action="store_true", help="one CSV row per session")
    parser.add_argument(
        "--plot",
        metavar="FILE.png",
        type=Path,
        help="draw minutes held in the stretches per day and the stiffness trend to a PNG file",
    )
    parser.add_argument(
        "--forget", action="store_true", help="delete the whole history (asks first)"
    )
    parser.add_argument("--yes", action="store_true", help="with --forget: do not ask")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        code = _run(args)
        sys.stdout.flush()
    except BrokenPipeError:
        # `voicecoach history --json | head`: the reader has gone; that is not an error.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return 0
    return code


def _run(args: argparse.Namespace) -> int:
    path = default_path()
    if args.yes and not args.forget:
        raise VoicecoachError("--yes only goes with --forget")
    if args.forget:
        return _forget(path, assume_yes=args.yes)
    days = _parse_days(args.days)
    if args.plot is not None:
        _check_plot_path(args.plot)
    today = default_wall().date()

    try:
        with HistoryStore.open(path, read_only=True) as store:
            everything = store.sessions()
            warnings = store.warnings
    except NoHistoryYet:  # no file, or an empty one: nothing recorded, which is no error
        return _no_history(args, path)
    # Rows voicecoach did not write are left out of what follows; say which, once each.
    for warning in warnings:
        print(f"voicecoach: warning: {path}: {warning}", file=sys.stderr)
    records = _within(everything, days, today)

    if args.plot is not None:
        if not records:
            raise VoicecoachError(_nothing_recorded(days, path) + ": nothing to plot")
        from voicecoach.history.plot import plot_history

        try:
            last = max(today, *(r.started.date() for r in records))
            drawn = plot_history(records, args.plot, first=first_day(days, today), last=last)
        except OSError as exc:
            raise VoicecoachError(f"cannot write the plot to {args.plot}: {exc}") from None
        count = drawn.sessions
        span = f"{drawn.first:%d %b %Y} to {drawn.last:%d %b %Y}"
        print(f"wrote {args.plot} ({count} session{'s' if count != 1 else ''}, {span})")
        return 0
    if args.json:
        print(json.dumps([r.as_dict() for r in records], indent=2))
        return 0
    if args.csv:
        sys.stdout.write(to_csv(records))
        return 0
    if not records:
        print(_nothing_recorded(days, path))
    else:
        _print_table(records)
    for line in progress_lines(everything, today):
        print(line)
    return 0


# --- formatting ---------------------------------------------------------------------------------


def format_duration(seconds: float) -> str:
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def format_holds(holds: dict[str, int]) -> str:
    if not holds:
        return "-"
    # Exercises without sides count as a plain number: "1 + L 2 R 1".
    sided = " ".join(
        f"{ {'left': 'L', 'right': 'R'}.get(side, side) } {holds[side]}"
        for side in _sides(holds)
        if side != "none"
    )
    unsided = str(holds["none"]) if "none" in holds else ""
    return " + ".join(part for part in (unsided, sided) if part)


def format_stiffness(before: int | None, after: int | None) -> str:
    if before is None and after is None:
        return "-"
    return f"{'?' if before is None else before} → {'?' if after is None else after}"


STATUS_LABELS = {SKIPPED: "all skipped"}
"""How the table says a status, where the bare word would mislead ("skipped" alone reads as if
the session itself had been skipped)."""


def format_status(record: SessionRecord) -> str:
    label = STATUS_LABELS.get(record.status, record.status)
    return f"{label} (resumes #{record.resumes})" if record.resumes else label


def table_rows(records: Sequence[SessionRecord]) -> list[list[str]]:
    return [
        [
            f"{r.started:%Y-%m-%d %H:%M}",
            r.routine or "-",
            format_status(r),
            format_duration(r.duration_s),
            format_holds(r.holds),
            str(r.pain_stopped) if r.pain_stopped else "-",
            str(r.skips),
            f"+{format_duration(r.seconds_added)}" if r.seconds_added else "-",
            format_stiffness(r.stiffness_before, r.stiffness_after),
        ]
        for r in records
    ]


HEADERS = [
    "date", "routine", "status", "duration", "holds", "pain", "skips", "added", "stiffness",
]  # fmt: skip
"""`holds`: the sides held, as the spoken summary counts them; `pain`: holds pain stopped."""
RIGHT_ALIGNED = ("duration", "pain", "skips", "added")


def plain_table(records: Sequence[SessionRecord]) -> str:
    rows = [HEADERS, *table_rows(records)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEADERS))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(line.rstrip() for line in lines)


def _print_table(records: Sequence[SessionRecord]) -> None:
    if not sys.stdout.isatty():
        print(plain_table(records))
        return
    from rich import box
    from rich.console import Console
    from rich.table import Table

    console = Console()
    # Light rules, no wrapping; on an 80-column terminal one space between columns so all fit.
    table = Table(
        title="voicecoach sessions",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        padding=(0, 1) if console.width >= 90 else (0, 0),
        collapse_padding=True,
    )
    for header in HEADERS:
        table.add_column(
            header, justify="right" if header in RIGHT_ALIGNED else "left", no_wrap=True
        )
    for row in table_rows(records):
        table.add_row(*row)
    console.print(table)


def progress_lines(records: Sequence[SessionRecord], today: date) -> list[str]:
    """Today's completed sessions, the kneeling-stretch ones against its source's advice (said
    only once the history has such a session), and the streak of days with one."""
    days = [r.started.date() for r in records if r.status == COMPLETED]
    done_today = days.count(today)
    plural = "" if done_today == 1 else "s"
    today_line = f"today: {done_today} completed session{plural}"
    counted = [r for r in records if r.status == COMPLETED and r.counts_for]
    if counted:
        stretch_today = sum(1 for r in counted if r.started.date() == today)
        if stretch_today == 0:
            verdict = "none yet"
        elif stretch_today < 2:
            verdict = "1 so far"
        elif stretch_today <= 3:
            verdict = "on target"
        else:
            verdict = "more than advised"
        today_line += f", {stretch_today} with the kneeling stretch ({ADVICE}): {verdict}"
    streak = streak_ending(days, today)
    if streak:
        streak_line = f"streak: {streak} day{'s' if streak != 1 else ''} in a row"
    else:
        streak = streak_ending(days, today - timedelta(days=1))
        streak_line = (
            f"streak: {streak} day{'s' if streak != 1 else ''} up to yesterday; "
            "a session today keeps it going"
            if streak
            else "streak: none yet"
        )
    return [today_line, streak_line]


def to_csv(records: Sequence[SessionRecord]) -> str:
    sides = _sides({side: 0 for r in records for side in r.holds} | {"left": 0, "right": 0})
    fields = [
        "id",
        "started",
        "routine",
        "status",
        "duration_s",
        *(f"holds_{s}" for s in sides),
        *(f"held_{s}_s" for s in sides),
        "pain_stopped",
        "skips",
        "seconds_added",
        "stiffness_before",
        "stiffness_after",
        "resumes",
        "events",
        "counts_for",
    ]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    for record in records:
        row = record.as_dict()
        holds, held = row.pop("holds"), row.pop("held_s")
        for side in sides:
            row[f"holds_{side}"] = holds.get(side, 0)
            row[f"held_{side}_s"] = held.get(side, 0.0)
        writer.writerow(row)
    return out.getvalue()


def _sides(holds: dict[str, int]) -> list[str]:
    known = [s for s in SIDE_ORDER if s in holds]
    return known + sorted(s for s in holds if s not in SIDE_ORDER)


# --- input checks and --forget ----------------------------------------------------------------


def _parse_days(text: str | None) -> int | None:
    if text is None:
        return None
    try:
        days = int(text)
    except ValueError:
        days = 0
    if days < 1:
        raise VoicecoachError(
            f"--days must be a whole number of days, 1 or more (got {quoted(text)})"
        )
    return days


def _check_plot_path(out: Path) -> None:
    if out.suffix.lower() != ".png":
        raise VoicecoachError(f"--plot writes a PNG: give a file name ending in .png (got {out})")
    parent = out.parent if str(out.parent) else Path(".")
    if not parent.is_dir():
        raise VoicecoachError(f"cannot write the plot to {out}: {parent} is not a directory")
    if not os.access(parent, os.W_OK) or (out.exists() and not os.access(out, os.W_OK)):
        raise VoicecoachError(f"cannot write the plot to {out}: permission denied")


def _within(records: list[SessionRecord], days: int | None, today: date) -> list[SessionRecord]:
    since = first_day(days, today)
    if since is None:
        return records
    return [r for r in records if r.started.date() >= since]


def _nothing_recorded(days: int | None, path: Path) -> str:
    if days is None:
        return f"no sessions recorded yet (history: {path})"
    return f"no sessions in the last {days} day{'s' if days != 1 else ''}"


def _no_history(args: argparse.Namespace, path: Path) -> int:
    if args.plot is not None:
        raise VoicecoachError(f"no history yet (history: {path}): nothing to plot")
    if args.json:
        print("[]")
    elif args.csv:
        sys.stdout.write(to_csv([]))
    else:
        print(_nothing_recorded(None, path))
    return 0


def _forget(path: Path, *, assume_yes: bool) -> int:
    damaged = set_aside_copies(path)
    try:
        exists = path.exists()
    except OSError:
        exists = True  # a directory without access: opening says so, in one line
    if not exists and not damaged:
        print(f"no history to forget (history: {path})")
        return 0
    with HistoryStore.open(path) as store:
        count = len(store.sessions())
        damaged = set_aside_copies(path)
        what = f"{count} recorded session{'s' if count != 1 else ''} in {path}"
        if damaged:
            what += f" and {len(damaged)} set-aside damaged file{'s' if len(damaged) != 1 else ''}"
        if not assume_yes:
            sys.stderr.write(f"Delete {what}? This cannot be undone. Type 'yes' to confirm: ")
            sys.stderr.flush()
            answer = sys.stdin.readline().strip().lower()
            if answer not in ("y", "yes"):
                print("history kept (not confirmed)", file=sys.stderr)
                return 1
        store.forget()
    for copy in damaged:
        copy.unlink(missing_ok=True)
    print(f"deleted {what}")
    return 0
