"""Exit-after-cut stress: how often a process that cuts a sentence and exits at once ends badly.

Each run is a fresh Python process in a room (tests/room.py): SoundDeviceOutput plays three
0.6 s tones, cutting most of them at a random moment, closes the output after the last and exits
after `--exit-delay` seconds at most (busy with Python work with --busy, asleep without), the way
`voicecoach start` exits on SIGTERM mid-sentence. Counted: clean exits, other exit codes (-6 is
SIGABRT) and hangs (no exit within --timeout s: a native backtrace of every thread is printed,
via gdb when it is installed, and the process is killed by its PID).

Before SoundDeviceOutput.close waited for the cut sentence's stream, the exit raced sounddevice's
atexit Pa_Terminate on that stream and hung there in a few percent of runs; with --code DIR it
runs the voicecoach package found in DIR instead of this checkout (e.g. an older one, from
`git archive <commit> voicecoach | tar -x -C DIR`).

Run: .venv/bin/python bench/output_exit.py [--runs 150] [--exit-delay 0.02] [--busy] [--code DIR]
"""

from __future__ import annotations

import argparse
import collections
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from room import Room  # tests/room.py, found through the path above

CHILD = r"""
import os, random, sys, threading, time
code = os.environ.get("VOICECOACH_CODE")
if code:  # that package, not the editable install's
    sys.meta_path[:] = [f for f in sys.meta_path if "editable" not in repr(f).lower()]
    sys.path.insert(0, code)
import numpy as np
from voicecoach.clock import MonotonicClock
from voicecoach.speaking.output import SoundDeviceOutput

out = SoundDeviceOutput(MonotonicClock())
t = np.arange(int(16_000 * 0.6))
tone = (3000 * np.sin(t * 2 * np.pi * 440 / 16_000)).astype(np.int16)
for i in range(3):
    done = threading.Event()
    out.play(tone, 16_000, lambda _end, _cut: done.set())
    time.sleep(random.uniform(0, 0.3))
    if random.random() < 0.7:
        out.cut()
    if i == 2:
        out.close()
        pause = random.uniform(0, float(sys.argv[1]))
        if sys.argv[2] == "busy":
            end = time.monotonic() + pause
            while time.monotonic() < end:
                sum(range(1000))
        else:
            time.sleep(pause)
        break
    if not done.wait(10):
        sys.exit(3)
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=150)
    parser.add_argument("--exit-delay", type=float, default=0.02, metavar="S")
    parser.add_argument("--busy", action="store_true", help="busy, not asleep, before exiting")
    parser.add_argument("--timeout", type=float, default=25.0, metavar="S")
    parser.add_argument("--code", type=Path, metavar="DIR", help="run the voicecoach in DIR")
    args = parser.parse_args()

    outcomes: collections.Counter[str] = collections.Counter()
    with (
        tempfile.TemporaryDirectory(prefix="voicecoach-exit-bench-") as tmp,
        Room(Path(tmp) / "room") as room,
    ):
        script = Path(tmp) / "child.py"
        script.write_text(CHILD)
        env = room.env()
        if args.code is not None:
            env["VOICECOACH_CODE"] = str(args.code.resolve())
        how = "busy" if args.busy else "asleep"
        for i in range(args.runs):
            proc = subprocess.Popen(
                [sys.executable, str(script), str(args.exit_delay), how],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            try:
                output, _ = proc.communicate(timeout=args.timeout)
            except subprocess.TimeoutExpired:
                outcomes["hang"] += 1
                print(f"run {i}: no exit within {args.timeout:g} s", flush=True)
                if shutil.which("gdb"):
                    bt = subprocess.run(
                        ["gdb", "-batch", "-p", str(proc.pid), "-ex", "thread apply all bt"],
                        capture_output=True,
                        text=True,
                    )
                    frames = [line for line in bt.stdout.splitlines() if line.startswith("#")]
                    print("\n".join(f"  {line}" for line in frames[-40:]), flush=True)
                proc.kill()
                proc.communicate()
                continue
            outcomes[f"exit {proc.returncode}"] += 1
            if proc.returncode != 0:
                print(f"run {i}: exit {proc.returncode}: {output[-1500:]}", flush=True)
    summary = ", ".join(f"{k}: {v}" for k, v in sorted(outcomes.items()))
    print(f"{args.runs} runs (exit delay up to {args.exit_delay:g} s, {how}): {summary}")
    return 0 if set(outcomes) <= {"exit 0"} else 1


if __name__ == "__main__":
    sys.exit(main())
