"""The coach's own voice at its sentence starts: how often it starts "the person's" utterance.

Each sentence is its own output stream, and its echo reaches the microphone a little earlier or
later than its stamp says. Where the echo canceller misjudged that, 60 to 140 ms of the coach's
voice was left in at the sentence's start; the end-of-speech detector took it for the person
and started an utterance there (merged with a pain word said just after it, or heard as words
of its own). This bench records room sessions with a tap (bench/tap/sitecustomize.py: the
frames the listener was fed and the sentences played, with their stamps), then replays them
through the current echo canceller and detector, as the listener feeds them, and counts the
utterances that start within 0.1 s before to 0.25 s after a sentence's stamp and last under
0.25 s (the person's lines in these tests start later, or last longer).

Record (about 7 minutes: tests/test_pain_room.py and the live room session, in a room of their
own) and replay:   .venv/bin/python bench/echo_onsets.py --record bench/out/onsets-1
Replay only:       .venv/bin/python bench/echo_onsets.py --replay bench/out/onsets-1
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
TESTS = [
    "tests/test_pain_room.py",
    "tests/test_live_room.py::test_a_session_run_by_voice_through_the_room",
]
BEFORE_S, AFTER_S, SHORT_S = 0.1, 0.25, 0.25


def record(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "CI": "true",
        "VC_TAP_DIR": str(folder.resolve()),
        "PYTHONPATH": str(ROOT / "bench" / "tap"),
    }
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *TESTS]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    lines = (proc.stdout + proc.stderr).strip().splitlines()
    print(f"recorded: {lines[-1] if lines else '(no output)'}")


def replay(path: Path) -> tuple[int, list[tuple[float, float, str]], int]:
    """(sentences, the short utterances started at a sentence's start, all utterances)."""
    from voicecoach.hearing.audio import SAMPLE_RATE
    from voicecoach.hearing.echo import EchoCanceller
    from voicecoach.hearing.endpoint import EndpointDetector
    from voicecoach.hearing.listener import Listener
    from voicecoach.speaking.echo_reference import EchoReference

    fields = Listener.__dataclass_fields__
    lag_s = float(fields["echo_lag_s"].default)
    lead = round(float(fields["echo_lead_s"].default) * SAMPLE_RATE)
    with np.load(path) as npz:
        d = {key: npz[key] for key in npz.files}
    reference = EchoReference(keep_s=1e9)
    offsets = np.concatenate([[0], np.cumsum(d["s_len"])])
    ends = {int(after): float(end) for end, after in zip(d["ends"], d["ends_after"], strict=True)}
    onsets = []
    for i, start in enumerate(d["s_start"]):
        samples = d["s_audio"][offsets[i] : offsets[i + 1]]
        reference.started(float(start), samples, int(d["s_rate"][i]), str(d["s_text"][i]))
        if i + 1 in ends:
            reference.finished(ends[i + 1])
        onsets.append((float(start), str(d["s_text"][i])))
    echo, detector = EchoCanceller(), EndpointDetector()
    frame_at = np.concatenate([[0], np.cumsum(d["sizes"])])
    utterances, started = [], None
    for k, t_end in enumerate(d["t"]):
        frame = d["audio"][frame_at[k] : frame_at[k + 1]]
        t_start = float(t_end) - frame.size / SAMPLE_RATE
        ahead = reference.window(t_start - lag_s, float(t_end) + lead / SAMPLE_RATE)
        what = detector.push(echo.process(frame, ahead), float(t_end), ahead[: ahead.size - lead])
        if what == "start":
            started = detector.started_at
        elif what == "end" and started is not None:
            utterances.append((started, detector.speech_ended_at))
            started = None
    bursts = [
        (round(s - o, 3), round(e - s, 3), text[:32])
        for s, e in utterances
        for o, text in onsets
        if o - BEFORE_S <= s <= o + AFTER_S and e - s < SHORT_S
    ]
    return len(onsets), bursts, len(utterances)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--record", type=Path, help="record room runs into this folder, then replay")
    what.add_argument("--replay", type=Path, help="replay the runs recorded in this folder")
    args = parser.parse_args()
    folder = args.record or args.replay
    if args.record:
        record(folder)
    files = sorted(folder.glob("*.npz"))
    if not files:
        print(f"echo_onsets: no recordings in {folder}", file=sys.stderr)
        return 2
    total_onsets = total_bursts = total_utterances = 0
    for path in files:
        n, bursts, utterances = replay(path)
        total_onsets += n
        total_bursts += len(bursts)
        total_utterances += utterances
        print(f"{path.name}: {n} sentences, {utterances} utterances; at a start: {bursts}")
    print(
        f"{len(files)} sessions, {total_onsets} sentences: {total_bursts} utterances started by "
        f"the coach's own voice at a sentence's start ({total_utterances} utterances in all)"
    )
    print("command:", " ".join([Path(sys.executable).name, *sys.argv]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
