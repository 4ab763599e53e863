"""What the demo tests share: reading a transcript's lines and times, and the intents the built-in
scenario fires."""

from __future__ import annotations

import re
from pathlib import Path

LINE = re.compile(r"^\[(\d+):(\d\d)\.(\d{3})\] (.*)$")


# The intents the demo's script fires, in order, whether its lines are heard or read as text.


SCRIPTED_INTENTS = [
    "start_routine",
    "rating",
    "repeat",
    "ready",
    "time_left",
    "extend",
    "skip",
    "ready",
    "pause",
    "resume",
    "slower",
    "rating",
]


def seconds(m: re.Match[str]) -> float:
    return int(m.group(1)) * 60 + int(m.group(2)) + int(m.group(3)) / 1000


def transcript_lines(root: Path) -> list[tuple[float, str]]:
    out = []
    for raw in (root / "out" / "transcript.txt").read_text().splitlines():
        m = LINE.match(raw)
        if m:
            out.append((seconds(m), m.group(4)))
    return out
