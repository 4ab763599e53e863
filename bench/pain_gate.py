"""What the listener's gate costs pain, and what biasing it to pain costs: offline, PocketSphinx.

Three sets of sound go through the real listener (echo canceller, end-of-speech detector, engine)
with every bar off, and each decode is then judged by the gate under two policies, the old one
(pain held to the bars every command meets) and the current one (pain's own, lower bars):

  pain      what people say when it hurts, in four espeak-ng voices, in silence and said 0.3 s
            into one of the coach's sentences (the coach's voice at the demo's echo gain);
  talk      non-command prose and short words that sound like "ow" ("no", "oh", "wow", "how"),
            and noise bursts like a cough, in silence and over the coach: any pain here is false;
  coach     the coach's own sentences from a whole demo session, alone: any pain is its echo.

Printed: pain heard of pain said, and false pains per set, under each policy.

Run: .venv/bin/python bench/pain_gate.py [--voices N]
"""

from __future__ import annotations

import argparse
import re
import shlex
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

import voicecoach.hearing.listener as listener_module
from voicecoach.demo import ECHO_GAIN
from voicecoach.hearing.audio import SAMPLE_RATE
from voicecoach.hearing.gate import GatePolicy, gate
from voicecoach.hearing.listener import Listener
from voicecoach.hearing.wavio import read_wav
from voicecoach.messages import Utterance

FRAME = 320
VOICES = [("en-us", 150, 50), ("en", 170, 40), ("en+f3", 160, 60), ("en-us+m3", 140, 45)]
PAIN = [
    "ow",
    "ouch",
    "that hurts",
    "my knee hurts",
    "my back hurts",
    "that's sore",
    "it's pinching",
    "my lower back hurts",
    "cramp in my leg",
    "I need to stop",
    "stop, it hurts",
]
TALK = [
    "no",
    "oh",
    "wow",
    "how",
    "so",
    "go",
    "now",
    "okay",
    "yes",
    "hmm",
    "The weather this morning was cold and grey, so we stayed inside and read for a while.",
    "My sister called to say the train was late again and she would be home after dinner.",
    "There is a small bakery on the corner that sells bread with walnuts and raisins.",
    "He told me the meeting moved to Thursday because half of the team was travelling.",
    "We planted tomatoes along the fence, and the neighbour's cat keeps digging them up.",
    "The children built a tall tower of blocks and laughed when it finally fell over.",
]
PERMISSIVE = GatePolicy(
    min_confidence=0.0,
    barge_in_confidence=0.0,
    pain_confidence=0.0,
    pain_barge_in_confidence=0.0,
    min_s=0.0,
    pain_min_over_coach_s=0.0,
    max_base_s=1e9,
    pain_max_base_s=1e9,
)
OLD = replace(
    GatePolicy(),
    pain_confidence=GatePolicy().min_confidence,
    pain_barge_in_confidence=GatePolicy().barge_in_confidence,
    pain_min_s=GatePolicy().min_s,
    pain_min_over_coach_s=GatePolicy().min_s,
    pain_max_base_s=GatePolicy().max_base_s,
)
POLICIES = {
    "old (pain as any command)": OLD,
    "current (biased to pain)": GatePolicy(),
    "no bars at all (for comparison)": PERMISSIVE,
}


@dataclass
class Decode:
    """One decode and what the gate was given for it."""

    set: str
    said: str
    utterance: Utterance | None
    coach_active: bool
    coach_said: list[str]
    duration_s: float | None


def espeak(text: str, work: Path, voice: str, rate: int, pitch: int) -> np.ndarray:
    path = work / f"{abs(hash((text, voice, rate, pitch)))}.wav"
    if not path.exists():
        subprocess.run(
            ["espeak-ng", "-v", voice, "-s", str(rate), "-p", str(pitch), "-w", str(path), text],
            check=True,
            capture_output=True,
        )
    return read_wav(path)


def cough(rng: np.random.Generator, seconds: float) -> np.ndarray:
    """A burst of shaped noise about as loud as speech: what a cough gives an energy detector."""
    n = round(seconds * SAMPLE_RATE)
    envelope = np.sin(np.linspace(0, np.pi, n)) ** 0.5
    return (rng.standard_normal(n) * 3000 * envelope).astype(np.int16)


def coach_sentences(work: Path) -> list[str]:
    """What the coach says in the built-in demo's whole session."""
    out = work / "demo"
    subprocess.run(
        [sys.executable, "-m", "voicecoach", "demo", "--speed", "0", "--out", str(out)],
        check=True,
        capture_output=True,
        env={"VOICECOACH_DATA_DIR": str(work / "data"), "VOICECOACH_CONFIG_DIR": str(work)},
    )
    said = re.findall(r"\] coach \([a-z_]+\): (.*)$", (out / "transcript.txt").read_text(), re.M)
    return list(dict.fromkeys(said))


def run(n_voices: int) -> None:
    from voicecoach.hearing.asr.pocketsphinx import PocketSphinxEngine
    from voicecoach.hearing.audio import resample
    from voicecoach.hearing.grammar import load_grammar
    from voicecoach.speaking.echo_reference import EchoReference
    from voicecoach.speaking.render import Pyttsx3Renderer, VoiceSettings

    rng = np.random.default_rng(19)
    grammar = load_grammar()
    engine = PocketSphinxEngine(grammar)
    renderer = Pyttsx3Renderer()
    decodes: list[Decode] = []
    current: dict[str, str] = {}
    real_gate = gate

    def recording_gate(utterance: Utterance | None, **kw: Any) -> Any:
        decodes.append(
            Decode(
                current["set"],
                current["said"],
                utterance,
                kw["coach_active"],
                list(kw.get("coach_said", ())),
                kw.get("duration_s"),
            )
        )
        return real_gate(utterance, **kw)

    listener_module.gate = recording_gate  # type: ignore[assignment]
    with tempfile.TemporaryDirectory(prefix="voicecoach-bench-") as tmp:
        work = Path(tmp)
        coach_texts = coach_sentences(work)
        coach_audio = []
        for text in coach_texts:
            speech = renderer.render(text, VoiceSettings())
            coach_audio.append((text, resample(speech.samples, speech.sample_rate, SAMPLE_RATE)))
        renderer.close()
        t = 0.0

        def stream(person: np.ndarray | None, coach: tuple[str, np.ndarray] | None) -> None:
            nonlocal t
            reference = EchoReference()
            length = max(
                person.size + round(0.3 * SAMPLE_RATE) if person is not None else 0,
                coach[1].size if coach is not None else 0,
            )
            mic = np.zeros(length + SAMPLE_RATE, np.float32)
            lead = 0.5
            if coach is not None:
                reference.started(t + lead, coach[1], SAMPLE_RATE, text=coach[0])
                reference.finished(t + lead + coach[1].size / SAMPLE_RATE)
            if person is not None:
                at = round(0.3 * SAMPLE_RATE) if coach is not None else 0
                mic[at : at + person.size] += person
            signal = np.concatenate([np.zeros(round(lead * SAMPLE_RATE), np.float32), mic])
            listener = Listener(engine, lambda _e: None, reference=reference, policy=PERMISSIVE)
            listener.detector.prime_echo_gain(ECHO_GAIN)
            engine.reset()
            for j in range(0, signal.size - FRAME + 1, FRAME):
                t_end = t + (j + FRAME) / SAMPLE_RATE
                echo = ECHO_GAIN * reference.window(t_end - FRAME / SAMPLE_RATE, t_end)
                frame = signal[j : j + FRAME] + echo + rng.normal(0, 30, FRAME)
                listener.feed(np.clip(frame, -32768, 32767).astype(np.int16), t_end)
            t += signal.size / SAMPLE_RATE + 5.0

        started = time.monotonic()
        for text, audio in coach_audio:
            current.update(set="coach", said=text)
            stream(None, (text, audio))
        for words in PAIN:
            for v in VOICES[:n_voices]:
                person = espeak(words, work, *v)
                for over in (False, True):
                    current.update(set="pain", said=f"{words} {'over' if over else 'quiet'} {v}")
                    coach = coach_audio[rng.integers(len(coach_audio))] if over else None
                    stream(person, coach)
        for words in [*TALK, "(cough)"]:
            for v in VOICES[:n_voices]:
                for over in (False, True):
                    person = (
                        cough(rng, rng.uniform(0.1, 0.4))
                        if words == "(cough)"
                        else espeak(words, work, *v)
                    )
                    current.update(set="talk", said=f"{words} {'over' if over else 'quiet'}")
                    coach = coach_audio[rng.integers(len(coach_audio))] if over else None
                    stream(person, coach)
        elapsed = time.monotonic() - started

    def accepted(d: Decode, policy: GatePolicy) -> bool:
        return real_gate(
            d.utterance,
            coach_active=d.coach_active,
            policy=policy,
            coach_said=d.coach_said,
            duration_s=d.duration_s,
        ).accept

    def is_pain(d: Decode) -> bool:
        return (
            d.utterance is not None
            and d.utterance.intent is not None
            and (d.utterance.intent.name == "pain")
        )

    pain_said = len(PAIN) * min(n_voices, len(VOICES)) * 2
    print(
        f"{len(decodes)} decodes: {len(coach_audio)} coach sentences alone, {pain_said} pain "
        f"lines said (half over the coach), {(len(TALK) + 1) * min(n_voices, len(VOICES)) * 2} "
        f"talk lines and coughs (half over the coach); {elapsed:.0f} s"
    )
    for name, policy in POLICIES.items():
        heard = {d.said for d in decodes if d.set == "pain" and is_pain(d) and accepted(d, policy)}
        over = sum(1 for s in heard if " over " in s)
        false = {
            s: [
                f"{d.said[:40]!r} as {d.utterance.text!r} ({d.utterance.confidence:.2f}, "
                f"{d.duration_s or 0:.2f} s)"
                for d in decodes
                if d.set == s and is_pain(d) and accepted(d, policy) and d.utterance is not None
            ]
            for s in ("talk", "coach")
        }
        print(
            f"{name}: pain heard {len(heard)} of {pain_said} ({over} of {pain_said // 2} over "
            f"the coach); false pain in talk {len(false['talk'])}, from the coach's own voice "
            f"{len(false['coach'])}"
        )
        for s, items in false.items():
            for item in items[:12]:
                print(f"    false ({s}): {item}")

    def verdict(d: Decode, policy: GatePolicy) -> str:
        return real_gate(
            d.utterance,
            coach_active=d.coach_active,
            policy=policy,
            coach_said=d.coach_said,
            duration_s=d.duration_s,
        ).reason

    missed = [
        f"{d.said!r} as {d.utterance.text if d.utterance else None!r} "
        f"({d.utterance.confidence if d.utterance else 0:.2f}, {d.duration_s or 0:.2f} s: "
        f"{verdict(d, GatePolicy())})"
        for d in decodes
        if d.set == "pain" and not (is_pain(d) and accepted(d, GatePolicy()))
    ]
    # Every other command, too: one heard over the coach is acted on once it has finished.
    taken = [
        f"{d.set}: {d.said[:40]!r} as {d.utterance.text!r} ({d.utterance.confidence:.2f}"
        f"{', over the coach' if d.coach_active else ''})"
        for d in decodes
        if d.set in ("coach", "talk")
        and d.utterance is not None
        and d.utterance.intent is not None
        and not is_pain(d)
        and accepted(d, GatePolicy())
    ]
    print(f"  other commands taken from talk and the coach's own voice: {len(taken)}")
    for item in sorted(taken, key=lambda x: not x.startswith("coach"))[:20]:
        print(f"    {item}")
    print("  pain decodes not taken under the current policy:")
    for item in missed[:20]:
        print(f"    {item}")
    print(f"  command: {shlex.join([sys.executable, *sys.argv])}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--voices", type=int, default=4, help="person voices (1 to 4)")
    args = parser.parse_args()
    run(args.voices)


if __name__ == "__main__":
    main()
