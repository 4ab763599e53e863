"""Pain over the hold cue in the room, at the first try: how often the coach hears it.

Runs the room test tests/test_pain_room.py (its cases for one engine: "ouch", "ow" and "my back
hurts" said 0.3, 0.8 and 1.1 s after the hold starts, over the coach's hold cue) `--runs` times.
The test lets the person say it again when the coach did not hear it the first time, and warns
with the coach's timeline for each first try lost, and for each hold a false pain ended before
the line was said (the coach's own voice); this counts those warnings: the share of pain said
over the cue that the coach heard the first time, and the false pains. Each run takes about
three minutes (three sessions); keep the machine otherwise quiet, as a person's room would be.

Run: .venv/bin/python bench/pain_room.py [--runs 4] [--engine auto|pocketsphinx]
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CASES = 3  # delays per engine in the test
WORDS = 3  # pain lines said in each case
LOST = re.compile(r"(\S+): '([^']+)' at ([0-9.]+) s lost at the first try")
FALSE = re.compile(r"(\S+): false pain before '([^']+)' at ([0-9.]+) s")


def one_run(engine: str) -> tuple[int, list[str], list[str], str]:
    """(test cases that failed, the first tries lost as "words at delay", the lines before
    which a false pain ended the hold, pytest's last line)."""
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-W",
            "always",
            "-rw",
            str(ROOT / "tests" / "test_pain_room.py"),
            "-k",
            engine,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "CI": "true"},
        check=False,
    )
    out = proc.stdout + proc.stderr
    lost = [f"{m[1]!r} at {m[2]} s" for m in LOST.findall(out) if m[0] == engine]
    false = [f"{m[1]!r} at {m[2]} s" for m in FALSE.findall(out) if m[0] == engine]
    failed = re.search(r"(\d+) failed", out)
    last = out.strip().splitlines()[-1] if out.strip() else "(no output)"
    for line in out.splitlines():
        if line.startswith("FAILED"):
            print(f"  {line[:400]}")
    return (int(failed[1]) if failed else 0), lost, false, last


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=4)
    parser.add_argument("--engine", choices=["auto", "pocketsphinx"], default="auto")
    args = parser.parse_args(argv)
    said = lost_n = false_n = failed_n = 0
    for i in range(args.runs):
        failed, lost, false, last = one_run(args.engine)
        said += CASES * WORDS
        lost_n += len(lost)
        false_n += len(false)
        failed_n += failed
        print(
            f"run {i + 1}: first tries lost {len(lost)} ({', '.join(lost) or 'none'}); "
            f"false pains ending a hold before the line {len(false)} "
            f"({', '.join(false) or 'none'}); {last}"
        )
    heard = said - lost_n
    print(
        f"{args.engine}: pain over the hold cue heard at the first try {heard} of {said} "
        "(a failed case stops at its failure: its later lines count as heard) "
        f"({heard / max(1, said):.1%}); holds ended by a false pain before the line {false_n}; "
        f"cases failed (lost twice, or another fault) {failed_n} of {CASES * args.runs}"
    )
    print("command: " + shlex.join([".venv/bin/python", "bench/pain_room.py", *sys.argv[1:]]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
