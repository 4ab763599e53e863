"""Echo benchmark: how much of the coach's own voice the canceller takes out in the room.

Records the room (tests/room.py: a PulseAudio null sink; the coach's sentences played through
voicecoach's SoundDeviceOutput, the monitor captured through PortAudio as the Microphone does),
then runs each design over the recording, frame by frame, as the listener would:

  none        the raw mix
  averaged    one delay and one gain fitted over ~200 ms of frames (the design before this
              bench; kept here as the baseline)
  per-frame   voicecoach.hearing.echo.EchoCanceller: the delay found in every frame

each with the microphone blocks stamped two ways: by their callbacks (as before), and by
sample count (voicecoach.hearing.audio.CaptureClock, what the Microphone does now).

Figures:
  ERLE        echo return loss enhancement over the frames where the coach played: how far the
              echo went down, in dB (higher is better)
  audible     frames (20 ms) whose residual is still above the listener's absolute speech
              floor (rms 150)
  person SDR  "stop now" (espeak-ng) added to the recording at three sets of moments over the
              coach's sentences: the person's level against what is left of the echo after
              cancelling, in dB (higher is better; the raw mix gives the echo-to-person ratio)

Run: .venv/bin/python bench/echo.py [--sentences 12] [--keep FILE] [--load FILE]
"""

from __future__ import annotations

import argparse
import os
import pickle
import shlex
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

FRAME = 320
RATE = 16_000
LAG_S = 0.1
LEAD_S = 0.04
SENTENCES = [
    "Kneel on your right knee with your left foot flat on the floor in front of you.",
    "Keep your back tall and tuck your pelvis under.",
    "Breathe slowly.",
    "Halfway there.",
    "Now switch sides: kneel on your left knee.",
    "Shift your weight forward until you feel a gentle stretch at the front of the hip.",
    "Ten seconds left.",
    "Lie on your back with your knees bent and your feet flat on the floor.",
    "Let your arms rest wherever they are comfortable.",
    "Slowly slide your right heel away from you along the floor.",
    "Say ready when you are in position.",
    "Well done. That is the end of the routine.",
]


@dataclass
class Recording:
    blocks: list[tuple[np.ndarray, float]]
    """Captured blocks with the callback stamp of their last sample."""
    played: list[tuple[float, float, np.ndarray, str]]
    """(first sample, end, samples, text) of each sentence, on the same clock."""


def record(n_sentences: int, volume: float) -> Recording:
    """Play the sentences into a fresh room and capture its monitor."""
    from room import Room

    with Room() as room:
        os.environ.update(room.env())
        import sounddevice as sd

        from voicecoach.clock import MonotonicClock
        from voicecoach.speaking.output import SoundDeviceOutput
        from voicecoach.speaking.render import Pyttsx3Renderer, VoiceSettings

        clock = MonotonicClock()
        blocks: list[tuple[np.ndarray, float]] = []

        def callback(indata, frames, t, _status) -> None:  # type: ignore[no-untyped-def]
            # The Microphone's own stamp, before its CaptureClock.
            now = time.monotonic()
            age = float(t.currentTime) - float(t.inputBufferAdcTime)
            t_end = now - age + frames / RATE if 0.0 <= age < 1.0 else now
            blocks.append((np.frombuffer(bytes(indata), np.int16).copy(), min(t_end, now)))

        stream = sd.RawInputStream(
            samplerate=RATE, blocksize=FRAME, channels=1, dtype="int16", callback=callback
        )
        renderer = Pyttsx3Renderer()
        output = SoundDeviceOutput(clock)
        played: list[tuple[float, float, np.ndarray, str]] = []
        stream.start()
        try:
            time.sleep(0.5)
            settings = VoiceSettings(volume=volume)
            for i in range(n_sentences):
                text = SENTENCES[i % len(SENTENCES)]
                audio = renderer.render(text, settings)
                done = threading.Event()
                ended: list[float] = []

                def on_done(end: float, _cut: bool, ended=ended, done=done) -> None:
                    ended.append(end)
                    done.set()

                start = output.play(audio.samples, audio.sample_rate, on_done)
                if i % 4 == 1:  # some sentences are cut, as a barge-in cuts them
                    time.sleep(audio.duration_s / 2)
                    output.cut()
                done.wait(30)
                played.append((start, ended[0] if ended else start, audio.samples, text))
                time.sleep(0.4 + 0.3 * (i % 3))
            time.sleep(0.5)
        finally:
            stream.stop()
            stream.close()
            output.close()
            renderer.close()
    return Recording(blocks, played)


# --- the designs --------------------------------------------------------------------------------


@dataclass
class AveragedFit:
    """The canceller before this bench: an exponentially weighted least-squares fit of one delay
    and one gain over all frames (memory 0.9 per 20 ms frame), frozen when a frame is louder than
    four times the echo it predicts (double talk). Delays 0..lag only."""

    memory: float = 0.9
    min_ref_rms: float = 20.0
    double_talk: float = 4.0
    lead: int = 0
    _corr: np.ndarray = field(default_factory=lambda: np.zeros(0))
    _energy: np.ndarray = field(default_factory=lambda: np.zeros(0))
    delay: int = 0
    gain: float = 0.0

    def process(self, mic: np.ndarray, ref: np.ndarray | None) -> np.ndarray:
        if ref is None or mic.size == 0:
            return mic
        if self.lead:
            ref = ref[: ref.size - self.lead]
        n = mic.size
        lag = ref.size - n
        r = ref.astype(np.float64)
        if lag < 0 or float(np.sqrt(np.mean(r * r))) < self.min_ref_rms:
            return mic
        x = mic.astype(np.float64)
        corr = np.correlate(r, x, mode="valid")[::-1]
        sq = np.concatenate([[0.0], np.cumsum(r * r)])
        energy = (sq[n : n + lag + 1] - sq[: lag + 1])[::-1]
        if self._corr.size != corr.size:
            self._corr = np.zeros_like(corr)
            self._energy = np.zeros_like(energy)
            self.gain = 0.0
        predicted = self.gain * self.gain * float(energy[self.delay])
        if self.gain == 0.0 or float(x @ x) < self.double_talk * predicted:
            self._corr = self.memory * self._corr + corr
            self._energy = self.memory * self._energy + energy
        explained = np.where(self._energy > 0, self._corr**2 / np.maximum(self._energy, 1e-9), 0)
        self.delay = int(np.argmax(explained))
        e = self._energy[self.delay]
        self.gain = float(self._corr[self.delay] / e) if e > 0 else 0.0
        start = lag - self.delay
        cleaned = x - self.gain * r[start : start + n]
        return np.clip(np.rint(cleaned), -32768, 32767).astype(np.int16)


class NoCanceller:
    def process(self, mic: np.ndarray, ref: np.ndarray | None) -> np.ndarray:
        return mic


def _per_frame() -> object:
    from voicecoach.hearing.echo import EchoCanceller

    return EchoCanceller()


DESIGNS: dict[str, Callable[[], object]] = {
    "none": NoCanceller,
    "averaged": lambda: AveragedFit(lead=round(LEAD_S * RATE)),
    "per-frame": _per_frame,
}


def stamps(rec: Recording, how: str) -> list[float]:
    if how == "callback":
        return [t for _, t in rec.blocks]
    from voicecoach.hearing.audio import CaptureClock

    clock = CaptureClock(rate=RATE)
    return [clock.stamp(t, b.size) for b, t in rec.blocks]


def reference(rec: Recording):  # type: ignore[no-untyped-def]
    from voicecoach.speaking.echo_reference import EchoReference

    ref = EchoReference(keep_s=1e9)
    for start, end, samples, text in rec.played:
        ref.started(start, samples, RATE, text)
        ref.finished(end)
    return ref


def person_voice() -> np.ndarray:
    from voicecoach.hearing.wavio import read_wav

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "stop.wav"
        subprocess.run(["espeak-ng", "-w", str(path), "--", "stop now"], check=True)
        return read_wav(path, RATE).astype(np.float64) * 0.5


def evaluate(
    rec: Recording, design: Callable[[], object], how: str, person: np.ndarray | None = None
) -> tuple[float, int, int, float]:
    """(ERLE dB, audible frames, coach frames, person SDR dB or nan)."""
    ref = reference(rec)
    canceller = design()
    lead = round(LEAD_S * RATE)
    tot_mic = tot_res = err = pe = 0.0
    audible = active = 0
    offset = 0
    for (block, _), t_end in zip(rec.blocks, stamps(rec, how), strict=True):
        t_start = t_end - block.size / RATE
        window = ref.window(t_start - LAG_S, t_end + lead / RATE)
        mic = block.astype(np.float64)
        p = np.zeros(block.size)
        if person is not None:
            p = person[offset : offset + block.size]
        offset += block.size
        mixed = np.clip(mic + p, -32768, 32767).astype(np.int16)
        out = canceller.process(mixed, window).astype(np.float64)  # type: ignore[attr-defined]
        if not np.any(window != 0):
            continue
        active += 1
        if person is None:
            tot_mic += float(mic @ mic)
            tot_res += float(out @ out)
            audible += int(np.sqrt(np.mean(out * out)) > 150)
        elif np.any(p != 0):
            err += float(np.sum((out - p) ** 2))
            pe += float(p @ p)
    if person is None:
        return 10 * np.log10(tot_mic / max(tot_res, 1.0)), audible, active, float("nan")
    return float("nan"), 0, active, 10 * np.log10(pe / max(err, 1.0))


def placements(rec: Recording, voice: np.ndarray) -> list[np.ndarray]:
    """Three person tracks: "stop now" at 30%, 60% and 90% into chosen sentences."""
    n = sum(b.size for b, _ in rec.blocks)
    first = stamps(rec, "sample")[0] - rec.blocks[0][0].size / RATE
    tracks = []
    for k, at in enumerate((0.3, 0.6, 0.9)):
        track = np.zeros(n)
        for i, (start, end, _, _) in enumerate(rec.played):
            if i % 3 != k % 3 and len(rec.played) > 3:
                continue
            a = round((start + at * (end - start) - first) * RATE)
            b = min(n, a + voice.size)
            if 0 <= a < b:
                track[a:b] += voice[: b - a]
        tracks.append(track)
    return tracks


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sentences", type=int, default=12)
    parser.add_argument("--volume", type=float, default=0.3, help="the coach's volume (config)")
    parser.add_argument("--keep", type=Path, help="save the recording here")
    parser.add_argument("--load", type=Path, help="evaluate a saved recording instead")
    args = parser.parse_args(argv)
    command = "bench/echo.py " + shlex.join(argv if argv is not None else sys.argv[1:])
    if args.load:
        rec = pickle.loads(args.load.read_bytes())
    else:
        rec = record(args.sentences, args.volume)
        if args.keep:
            args.keep.write_bytes(pickle.dumps(rec))
    voice = person_voice()
    tracks = placements(rec, voice)
    print(f"echo in the room: {len(rec.played)} sentences, {len(rec.blocks)} blocks recorded")
    print(
        f"{'design':10} {'stamps':9} {'ERLE':>8} {'audible':>12} {'person SDR (3 placements)':>28}"
    )
    for name, design in DESIGNS.items():
        for how in ("callback", "sample"):
            erle, audible, active, _ = evaluate(rec, design, how)
            sdr = [evaluate(rec, design, how, person=t)[3] for t in tracks]
            print(
                f"{name:10} {how:9} {erle:6.1f} dB {audible:5d}/{active:<5d}"
                f"   {' / '.join(f'{s:5.1f}' for s in sdr)} dB"
            )
    print(f"command: .venv/bin/python {command.strip()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
