"""Text from files and settings is printed escaped and echoed cut (issue 20): voicecoach.shown,
and the places that print such text (the live display, the demo transcript)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from voicecoach.shown import brief, escape, quoted, unsafe_characters

HOSTILE = {
    "\x1b]0;pwned\x07": "\\x1b]0;pwned\\x07",  # set the terminal's title
    "\x1b[2J": "\\x1b[2J",  # clear the screen
    "a\x00b": "a\\x00b",
    "\u202eevil": "\\u202eevil",  # right-to-left override
    "\x9b31m": "\\x9b31m",  # C1 CSI
    "line\nbreak\ttab": "line\\x0abreak\\x09tab",
    "zero\u200bwidth": "zero\\u200bwidth",
    "\U000e0001tag": "\\U000e0001tag",
}


@pytest.mark.parametrize(("raw", "shown"), sorted(HOSTILE.items()))
def test_escape_writes_every_unsafe_character_as_an_escape(raw: str, shown: str) -> None:
    assert escape(raw) == shown
    assert escape(raw).isprintable()
    assert unsafe_characters(raw)


@pytest.mark.parametrize("text", ["plain", "étirement du matin", "emoji 😀", "a\\x1b stays", ""])
def test_text_without_unsafe_characters_prints_unchanged(text: str) -> None:
    assert escape(text) == text
    assert unsafe_characters(text) == []


def test_brief_cuts_a_long_value_and_says_how_long_it_was() -> None:
    shown = brief("x" * 100_000)
    assert len(shown) < 90 and shown.endswith("... (100000 characters)")
    assert brief("short") == "short"
    assert quoted("\x1b") == "'\\x1b'"
    assert brief(3.5) == "3.5"


def test_the_plain_display_prints_coach_words_escaped() -> None:
    from voicecoach.display import PlainDisplay

    out = io.StringIO()
    display = PlainDisplay(out)
    display.coach("Kneel\x1b[2J down.")
    display.message("voicecoach: \u202eevil")
    assert out.getvalue() == "coach: Kneel\\x1b[2J down.\nvoicecoach: \\u202eevil\n"


def test_the_rich_display_shows_text_plain_not_as_markup_or_controls() -> None:
    from rich.console import Console

    from voicecoach.display import RichDisplay

    out = io.StringIO()
    console = Console(file=out, width=100, force_terminal=False, color_system=None)
    display = RichDisplay(console)
    try:
        display.message("[bold red]loud[/] \x07bell")
    finally:
        display.close()
    printed = out.getvalue()
    assert "[bold red]loud[/] \\x07bell" in printed
    assert "\x07" not in printed


def test_the_demo_transcript_writes_and_echoes_escaped_lines(tmp_path: Path) -> None:
    from voicecoach.clock import FakeClock
    from voicecoach.demo import Transcript

    echo = io.StringIO()
    transcript = Transcript(tmp_path / "t.txt", FakeClock(0.0), echo)
    transcript.line('person: "\x1b]0;pwned\x07"')
    transcript.note("note \u202e")
    transcript.close()
    text = (tmp_path / "t.txt").read_text()
    assert text == '[00:00.000] person: "\\x1b]0;pwned\\x07"\n# note \\u202e\n'
    assert echo.getvalue() == '[00:00.000] person: "\\x1b]0;pwned\\x07"\nnote \\u202e\n'
