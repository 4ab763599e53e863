"""What the person sees when they glance up: routine, exercise, side, a countdown bar, the last
thing heard and what it did, and what can be said now. Rich when stdout is a terminal, plain lines
otherwise.
"""

from __future__ import annotations

import logging
import sys
import threading
from dataclasses import dataclass
from typing import Protocol, TextIO

from voicecoach.hearing.listener import Heard
from voicecoach.messages import IntentHeard
from voicecoach.shown import escape

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class Status:
    """Everything the display shows, as plain values (built from Session.view())."""

    routine: str | None
    exercise: str | None
    side: str | None
    state: str
    remaining_s: float | None
    total_s: float | None
    step: int | None
    steps: int | None
    allowed: tuple[str, ...]


class Display(Protocol):
    def coach(self, text: str) -> None: ...

    def heard(self, heard: Heard) -> None: ...

    def acted(self, event: IntentHeard, before: str, after: str) -> None: ...

    def status(self, status: Status) -> None: ...

    def message(self, text: str) -> None: ...

    def close(self) -> None: ...


def _clock(seconds: float | None) -> str:
    if seconds is None:
        return "--:--"
    s = max(0, round(seconds))
    return f"{s // 60:02d}:{s % 60:02d}"


def _hint(allowed: tuple[str, ...]) -> str:
    words = {
        "start_routine": "start hip routine",
        "ready": "ready",
        "repeat": "repeat that",
        "skip": "skip",
        "back": "go back",
        "extend": "add a minute",
        "pause": "pause",
        "resume": "resume",
        "stop": "stop",
        "time_left": "how long left",
        "help": "help",
        "pain": "ouch",
        "rating": "zero to ten",
    }
    return " · ".join(f'"{words[a]}"' for a in allowed if a in words)


class PlainDisplay:
    """One line per happening; for pipes, logs and dumb terminals."""

    def __init__(self, out: TextIO | None = None) -> None:
        self._out = out or sys.stdout
        self._last_line = ""
        self._lock = threading.Lock()

    def _print(self, line: str) -> None:
        line = escape(line)  # words from routine files and settings reach the terminal here
        with self._lock:
            print(line, file=self._out, flush=True)

    def coach(self, text: str) -> None:
        self._print(f"coach: {text}")

    def heard(self, heard: Heard) -> None:
        u = heard.utterance
        if u is not None:
            self._print(f"heard: {u.text!r} ({u.confidence:.2f}) -> {heard.decision.reason}")

    def acted(self, event: IntentHeard, before: str, after: str) -> None:
        change = f"{before} -> {after}" if before != after else f"still {after}"
        self._print(f"did: {event.intent.name} ({change})")

    def status(self, status: Status) -> None:
        # A line when where we are changes; not one per redraw of the countdown.
        where = " | ".join(
            p for p in (status.routine, status.exercise, status.side, status.state) if p
        )
        if where == self._last_line:
            return
        self._last_line = where
        left = ""
        if status.remaining_s is not None and status.total_s:
            left = f" | {_clock(status.remaining_s)} left of {_clock(status.total_s)}"
        self._print(f"[{where}{left}]")

    def message(self, text: str) -> None:
        self._print(text)

    def close(self) -> None:
        pass


class RichDisplay:
    """A live panel redrawn a few times a second."""

    def __init__(self, console: object | None = None) -> None:
        from rich.console import Console
        from rich.live import Live

        self._console = console if isinstance(console, Console) else Console()
        self._status: Status | None = None
        self._coach = ""
        self._heard = "nothing yet"
        self._did = ""
        self._lock = threading.Lock()
        self._live = Live(self._render(), console=self._console, refresh_per_second=4)
        self._live.start()

    def _render(self) -> object:
        from rich.panel import Panel
        from rich.progress_bar import ProgressBar
        from rich.table import Table

        s = self._status
        grid = Table.grid(padding=(0, 1))
        grid.add_column(style="bold", justify="right")
        grid.add_column()
        if s is not None:
            where = s.routine or "no routine yet"
            if s.step is not None and s.steps:
                where += f"  (step {s.step + 1} of {s.steps})"
            grid.add_row("routine", _plain(where))
            grid.add_row(
                "exercise", _plain(f"{s.exercise or '-'}" + (f"  [{s.side}]" if s.side else ""))
            )
            grid.add_row("state", _plain(s.state))
            if s.total_s:
                done = s.total_s - (s.remaining_s or 0.0)
                bar = ProgressBar(total=s.total_s, completed=done, width=40)
                row = Table.grid(padding=(0, 1))
                row.add_row(bar, f"{_clock(s.remaining_s)} left of {_clock(s.total_s)}")
                grid.add_row("time", row)
            grid.add_row("say", _plain(_hint(s.allowed)))
        grid.add_row("coach", _plain(self._coach))
        grid.add_row("heard", _plain(self._heard + (f"  → {self._did}" if self._did else "")))
        return Panel(grid, title="voicecoach", subtitle="Ctrl-C ends and gives the summary")

    def _refresh(self) -> None:
        self._live.update(self._render())

    def coach(self, text: str) -> None:
        with self._lock:
            self._coach = text
            self._refresh()

    def heard(self, heard: Heard) -> None:
        u = heard.utterance
        if u is None:
            return
        with self._lock:
            self._heard = f"“{u.text}” ({u.confidence:.2f})"
            self._did = "" if heard.decision.accept else f"ignored: {heard.decision.reason}"
            self._refresh()

    def acted(self, event: IntentHeard, before: str, after: str) -> None:
        with self._lock:
            self._did = event.intent.name + (f": {before} → {after}" if before != after else "")
            self._refresh()

    def status(self, status: Status) -> None:
        with self._lock:
            self._status = status
            self._refresh()

    def message(self, text: str) -> None:
        self._console.print(_plain(text))

    def close(self) -> None:
        self._live.stop()


def _plain(text: str) -> object:
    """Text rich shows as it is: control characters escaped, and "[bold]" in a routine's name
    not taken for markup."""
    from rich.text import Text

    return Text(escape(text))


def make_display(out: TextIO | None = None) -> Display:
    stream = out or sys.stdout
    if stream.isatty():
        try:
            return RichDisplay()
        except Exception as exc:  # a terminal rich cannot drive: plain lines still work
            _LOGGER.info("rich display unavailable: %s", exc)
    return PlainDisplay(stream)
