"""End-of-speech detectors side by side: the listener's energy detector against Silero VAD.

The same audio for each, fed 20 ms frame by frame as the listener feeds it:
  end delay      the detector's end of speech after the last loud frame of the clean words
                 ("add five minutes" in espeak-ng's and festival's voices), clean and with white
                 or babble noise at 10 dB; p50/p95, and how often it ended early (before the
                 words did, by more than 100 ms: a command cut in two) or never.
  not speech     how much of 20 s of steady sound each takes for speech: white noise, brown
                 noise (a fan), a 220 Hz tone, babble (other people's voices), and the coach's
                 own voice as the echo canceller leaves it (its residual in a simulated room).
  CPU            per second of audio, this process.

Silero is run on 32 ms chunks (its own size) with a start after two speech chunks (64 ms, as
the energy detector's 60 ms) and an end after `hangover` of chunks below 0.35 (its usual
negative threshold); the energy detector has its 200 ms hangover and, for the echo case, the
coach's reference, as in the listener.

Run: .venv/bin/python bench/endpoint.py [--seed 1]
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from recognition import BABBLE, _espeak, _mix

from voicecoach.hearing.asr.silero import SileroSpeech, SileroVoice
from voicecoach.hearing.echo import EchoCanceller
from voicecoach.hearing.endpoint import EndpointDetector

RATE = 16_000
FRAME = 320
COMMANDS = [
    "add five minutes",
    "how long left",
    "stop",
    "repeat that",
    "ouch my knee hurts",
    "skip this one",
    "go back",
    "pause",
]
VOICES = ["en-us", "en", "en+f3", "festival:kal_diphone", "festival:ked_diphone"]
LEAD_S, TAIL_S = 0.6, 1.2
EARLY_S = 0.1


class SileroDetector:
    """Start after two speech chunks, end after `hangover_s` of chunks below `off`."""

    def __init__(self, hangover_s: float, on: float = 0.5, off: float = 0.35) -> None:
        self.silero = SileroSpeech()
        self.hangover_s = hangover_s
        self.on, self.off = on, off
        self.chunk = self.silero.chunk
        self.reset()

    def reset(self) -> None:
        self.silero._vad.reset()
        self._rest = np.zeros(0, dtype=np.int16)
        self.active = False
        self._speech_chunks = 0
        self._quiet_s = 0.0

    def push(self, frame: np.ndarray, t_end: float, _reference: object = None) -> str | None:
        pcm = np.concatenate([self._rest, frame.astype(np.int16)])
        what = None
        n = self.chunk
        whole = pcm.size - pcm.size % n
        for start in range(0, whole, n):
            p = self.silero._vad.process_chunk(pcm[start : start + n].tobytes())
            if not self.active:
                self._speech_chunks = self._speech_chunks + 1 if p >= self.on else 0
                if self._speech_chunks >= 2:
                    self.active, self._quiet_s, what = True, 0.0, "start"
            elif p < self.off:
                self._quiet_s += n / RATE
                if self._quiet_s >= self.hangover_s - 1e-9:
                    self.active, self._speech_chunks, what = False, 0, "end"
            else:
                self._quiet_s = 0.0
        self._rest = pcm[whole:]
        return what


DETECTORS: dict[str, Callable[[], object]] = {
    "energy (listener, 200 ms)": EndpointDetector,
    "energy + Silero check": lambda: EndpointDetector(voice=SileroVoice()),
    "Silero, 100 ms": lambda: SileroDetector(0.10),
    "Silero, 150 ms": lambda: SileroDetector(0.15),
    "Silero, 200 ms": lambda: SileroDetector(0.20),
}
"""Each design by name, made fresh for each stretch of audio (only the one asked for)."""


def fresh(name: str) -> object:
    return DETECTORS[name]()


def last_loud_end(audio: np.ndarray, threshold: float = 300.0) -> float:
    n = len(audio) // FRAME
    levels = np.sqrt((audio[: n * FRAME].astype(np.float64).reshape(n, FRAME) ** 2).mean(axis=1))
    loud = np.nonzero(levels > threshold)[0]
    return float((loud[-1] + 1) * FRAME / RATE) if loud.size else 0.0


def run(detector: object, signal: np.ndarray, references: np.ndarray | None = None) -> list:
    events = []
    for i in range(0, len(signal) - FRAME + 1, FRAME):
        t_end = (i + FRAME) / RATE
        ref = None
        if references is not None:
            ref = references[max(0, i - 1600) : i + FRAME]
        what = detector.push(signal[i : i + FRAME], t_end, ref)  # type: ignore[attr-defined]
        if what:
            events.append((what, t_end))
    return events


def as_int16(x: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(x), -32768, 32767).astype(np.int16)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    command = shlex.join([os.path.relpath(sys.executable), *sys.argv])
    rng = np.random.default_rng(args.seed)
    names = list(DETECTORS)
    with tempfile.TemporaryDirectory(prefix="voicecoach-bench-endpoint-") as tmp:
        work = Path(tmp)
        words = [
            _espeak(text, voice, 160, 50, work / "say.wav") for text in COMMANDS for voice in VOICES
        ]
        babble_parts = [
            _espeak(text, VOICES[i % 3], 160, 50, work / "b.wav") for i, text in enumerate(BABBLE)
        ]
        coach_lines = [
            "Lie on your back with your knees bent and your feet flat on the floor.",
            "Halfway there. Keep breathing slowly.",
            "Now switch sides, and hold for twenty to thirty seconds.",
            "Well done. Come out of it slowly.",
        ]
        coach = [_espeak(t, "en-us", 175, 50, work / "c.wav") for t in coach_lines]
    n_babble = max(len(b) for b in babble_parts)
    babble = sum(np.pad(b, (0, n_babble - len(b))) for b in babble_parts)
    babble = np.tile(babble, 30)

    # 1. End of speech.
    conditions = ["clean", "white 10 dB", "babble 10 dB"]
    delays: dict[tuple[str, str], list[float]] = {}
    early: dict[tuple[str, str], int] = {}
    never: dict[tuple[str, str], int] = {}
    cpu: dict[str, float] = dict.fromkeys(names, 0.0)
    audio_s = 0.0
    for speech in words:
        end = LEAD_S + last_loud_end(speech)
        quiet = np.zeros(round(LEAD_S * RATE)), np.zeros(round(TAIL_S * RATE))
        clean = np.concatenate([quiet[0], speech, quiet[1]])
        for condition in conditions:
            if condition == "clean":
                signal = clean + rng.normal(0, 30, clean.size)
            else:
                source = (
                    rng.normal(0, 1, clean.size)
                    if condition.startswith("white")
                    else (babble[int(rng.integers(0, babble.size - clean.size)) :][: clean.size])
                )
                signal = _mix(clean, source, 10.0)
            pcm = as_int16(signal)
            audio_s += pcm.size / RATE / len(conditions)
            for name in names:
                det = fresh(name)
                t0 = time.process_time()
                events = run(det, pcm)
                cpu[name] += time.process_time() - t0
                key = (name, condition)
                ends = [t for what, t in events if what == "end"]
                if not ends:
                    never[key] = never.get(key, 0) + 1
                    continue
                if ends[0] < end - EARLY_S:
                    early[key] = early.get(key, 0) + 1
                # The end that follows the words (the first one at or after them).
                after = [t for t in ends if t >= end - EARLY_S]
                if after:
                    delays.setdefault(key, []).append((after[0] - end) * 1000)
    n = len(words)
    print(f"end of speech after the words' last loud frame, {n} commands per condition:")
    for name in names:
        cells = []
        for condition in conditions:
            d = delays.get((name, condition), [])
            p50 = np.percentile(d, 50) if d else float("nan")
            p95 = np.percentile(d, 95) if d else float("nan")
            cells.append(
                f"{condition}: p50 {p50:.0f} / p95 {p95:.0f} ms, early "
                f"{early.get((name, condition), 0)}, never {never.get((name, condition), 0)}"
            )
        print(f"  {name:26} " + "; ".join(cells))

    # 2. Sound that is not the person's speech.
    seconds = 20.0
    m = round(seconds * RATE)
    t = np.arange(m) / RATE
    brown = np.cumsum(rng.normal(0, 1, m))
    brown -= np.convolve(brown, np.ones(1600) / 1600, mode="same")  # no drift, a fan's rumble
    sources = {
        "white noise": rng.normal(0, 600, m),
        "brown noise": brown / np.std(brown) * 600,
        "220 Hz tone": 3000 * np.sin(2 * np.pi * 220 * t),
        "babble": babble[:m] / np.std(babble[:m]) * 1500,
    }
    # The coach's voice in a room: delayed 30 ms, at half level, with noise; the canceller
    # takes it out with the reference, as the listener does, and the detectors hear the rest.
    played = np.concatenate([np.concatenate([c, np.zeros(RATE // 2)]) for c in coach])
    played = np.tile(played, int(np.ceil(m / played.size)))[:m]
    mic = 0.5 * np.concatenate([np.zeros(480), played])[:m] + rng.normal(0, 30, m)
    canceller = EchoCanceller()
    residual = np.zeros(m)
    lag, lead = 1600, 640
    ref_full = np.concatenate([np.zeros(lag), played, np.zeros(lead)])
    mic16 = as_int16(mic)
    for i in range(0, m - FRAME + 1, FRAME):
        ref = ref_full[i : i + lag + FRAME + lead]
        residual[i : i + FRAME] = canceller.process(mic16[i : i + FRAME], ref)
    sources["the coach's echo, cancelled"] = residual
    print(f"\nshare of {seconds:.0f} s of sound that is no person's speech taken for speech:")
    for source, x in sources.items():
        pcm = as_int16(x)
        cells = []
        for name in names:
            det = fresh(name)
            refs = played.astype(np.float32) if source.startswith("the coach") else None
            events = run(det, pcm, refs if name.startswith("energy") else None)
            speech_s, started = 0.0, None
            for what, t_at in events:
                if what == "start":
                    started = t_at
                elif started is not None:
                    speech_s += t_at - started
                    started = None
            if started is not None:
                speech_s += seconds - started
            starts = sum(1 for what, _ in events if what == "start")
            cells.append(f"{name}: {100 * speech_s / seconds:.0f}% ({starts} starts)")
        print(f"  {source:28} " + "; ".join(cells))
    print(
        "\nCPU per second of audio: "
        + ", ".join(f"{name} {1000 * cpu[name] / audio_s:.1f} ms" for name in names)
    )
    print(f"command: {command}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
