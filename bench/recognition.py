"""Recognition benchmark: each engine present beside its naive peers, on the same audio.

Synthesizes commands and non-commands (the coach's own sentences, chatter, near-commands such
as "hmm" and "no", gibberish and shell-like strings, a steady 220 Hz tone) with espeak-ng in
several voices, rates and pitches and with festival's two diphone voices (kal, ked), adds white
and babble noise at 20, 10 and 5 dB, decodes everything with each approach (each in its own
process, so load time and peak RSS are its own) and prints a table with the command line that
produced it. Approaches: the fused neural engine (Whisper tiny.en scoring grammar sentences, with
PocketSphinx's hypothesis as a candidate), Whisper alone, the PocketSphinx engine, its naive peers
(the bare grammar search's best path; the general language model plus keyword search), and, where
a Vosk model is present, the Vosk engine and its keyword peer. Designs that differ only in how a
result is judged are worked out from the same runs (see derived_designs): Whisper's free
transcript matched word for word, other acceptance bars (--sweep), stricter bars for costly
commands, PocketSphinx's agreement. The sweep prints espeak-ng's and festival's voices apart: a
bar chosen on one is checked on the other.
Run: .venv/bin/python bench/recognition.py [--full] [--model DIR] [--approaches a,b] [--sweep]
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import os
import random
import resource
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from voicecoach.errors import VoicecoachError
from voicecoach.hearing.grammar import Grammar, load_grammar
from voicecoach.hearing.wavio import TARGET_RATE, read_wav
from voicecoach.messages import Intent

VOICES = ["en-us", "en", "en+f3"]
RATES = [140, 175]
PITCHES = [40, 60]
FESTIVAL_VOICES = ["festival:kal_diphone", "festival:ked_diphone"]
"""festival's diphone voices kal and ked (Debian festvox-kallpc16k, festvox-kdlpc16k): rate
sets their duration stretch (175 wpm is festival's own pace), pitch is theirs."""
SNRS_DB = [20, 10, 5]
PAD_S = 0.3
"""Silence (then noise) around each utterance, as a microphone would hear it."""

# Commands from issue 2, always in the set; more are sampled from the grammar.
CORE_COMMANDS = [
    "start hip routine",
    "start the release routine",
    "let's do the hip stretch",
    "i'm ready",
    "let's go",
    "repeat that",
    "say that again",
    "what was that",
    "skip this one",
    "next",
    "go back",
    "previous step",
    "add five minutes",
    "five more minutes",
    "give me two more minutes",
    "add thirty seconds",
    "add a minute",
    "extend",
    "longer",
    "pause",
    "hold on",
    "wait",
    "resume",
    "continue",
    "keep going",
    "stop",
    "end session",
    "i'm done",
    "how long left",
    "how much longer",
    "help",
    "what can i say",
    "slower",
    "faster",
    "louder",
    "quieter",
    "ouch",
    "that hurts",
    "pain",
    "about six",
    "it's a three",
]

# Speech the microphone will hear that is not a command: the coach's own sentences first.
NON_COMMANDS = [
    "then switch legs and repeat",
    "move slower than you think you need to",
    "slowly slide the heel back up",
    "hold the stretch for twenty to thirty seconds",
    "breathe in deeply and let your shoulders drop",
    "gently rock your knees from side to side",
    "let the floor take the weight of your legs",
    "now bring your right knee towards your chest",
    "stop if you feel any sharp pain",
    "we will add five minutes at the end",
    "keep going until you hear the bell",
    "next we will work on the other side",
    "how was your day at work",
    "the weather is lovely today",
    "can you pass me the water bottle",
    "i think the kettle has boiled",
    "my phone is ringing again",
    "that was a really good film",
    "what time is dinner tonight",
    "the cat wants to go outside",
]

NEAR_COMMANDS = [
    "hmm",
    "no",
    "so",
    "oh",
    "okay then",
    "that's sore",
    "it's pinching a bit",
    "exclamation",
    "hmm that's interesting",
    "where did i put it",
]
"""Short sounds and phrases a person says on the floor that are not commands (a phrase that
the grammar does take, e.g. once "that's sore" is pain, is measured as that command)."""

GIBBERISH = [
    "$(touch x)",
    "rm -rf /",
    "asdf qwerty zxcv",
    "!!! ??? ...",
    "blorp fizzle wug",
    "select star from users",
]
TONE = "<220 Hz tone>"
"""A steady tone (a fridge, a fan), no speech at all."""

# Sentences summed into babble noise (none are commands).
BABBLE = [
    "the meeting has been moved to thursday afternoon",
    "she bought three apples and a loaf of bread",
    "traffic on the bridge was terrible this morning",
    "he said the train would arrive a little late",
    "we should paint the kitchen a lighter colour",
    "the children played in the garden until sunset",
]


@dataclass
class Item:
    text: str
    expected: Intent | None
    voice: str
    rate: int
    pitch: int
    condition: str
    """"clean", "white 10 dB", "babble 5 dB", ..."""


def _espeak(text: str, voice: str, rate: int, pitch: int, path: Path) -> np.ndarray:
    """`text` spoken by espeak-ng (a `voice` "festival:NAME" by festival's text2wave), or the
    tone when it is TONE."""
    if text == TONE:
        t = np.arange(int(1.2 * TARGET_RATE)) / TARGET_RATE
        return 4000.0 * np.sin(2 * np.pi * 220.0 * t)
    if voice.startswith("festival:"):
        text_file = path.with_suffix(".txt")
        text_file.write_text(text + "\n", encoding="utf-8")
        path.unlink(missing_ok=True)  # text2wave exits 0 on an unknown voice, writing nothing
        stretch = 175 / rate
        subprocess.run(
            [
                "text2wave",
                "-eval",
                f"(voice_{voice.split(':', 1)[1]})",
                "-eval",
                f"(Parameter.set 'Duration_Stretch {stretch:.2f})",
                str(text_file),
                "-o",
                str(path),
            ],
            check=True,
            capture_output=True,
        )
        if not path.exists():
            raise VoicecoachError(f"festival's {voice} said nothing for {text!r}")
        return read_wav(path).astype(np.float64)
    subprocess.run(
        ["espeak-ng", "-v", voice, "-s", str(rate), "-p", str(pitch), "-w", str(path), "--", text],
        check=True,
        capture_output=True,
    )
    return read_wav(path).astype(np.float64)


def family(voice: str) -> str:
    """Which synthesizer spoke: "espeak-ng" or "festival"."""
    return "festival" if voice.startswith("festival:") else "espeak-ng"


def _active_power(x: np.ndarray) -> float:
    """Mean power over 20 ms frames within 40 dB of the loudest (an active speech level)."""
    frame = TARGET_RATE // 50
    n = len(x) // frame
    if n == 0:
        return float(np.mean(x**2)) if len(x) else 0.0
    powers = np.mean(x[: n * frame].reshape(n, frame) ** 2, axis=1)
    active = powers[powers >= powers.max() * 1e-4]
    return float(np.mean(active))


def _mix(speech: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    gain = np.sqrt(_active_power(speech) / (_active_power(noise) * 10 ** (snr_db / 10)))
    return speech + gain * noise


def build_corpus(
    grammar: Grammar,
    variants: list[tuple[str, int, int]],
    full: bool,
    per_intent: int,
    seed: int,
    work: Path,
    coach_n: int = 20,
) -> tuple[list[Item], list[np.ndarray]]:
    rng = random.Random(seed)
    nrng = np.random.default_rng(seed)
    by_intent: dict[str, list[tuple[str, Intent]]] = {}
    for text, intent in grammar.sample_sentences():
        by_intent.setdefault(intent.name, []).append((text, intent))
    commands: list[tuple[str, Intent | None]] = []
    for text in CORE_COMMANDS:
        intent = grammar.match(text)
        if intent is None:
            raise VoicecoachError(f"benchmark command {text!r} is not in the grammar")
        commands.append((text, intent))
    chosen = {t for t, _ in commands}
    for name in sorted(by_intent):
        pool = [s for s in by_intent[name] if s[0] not in chosen]
        commands.extend(rng.sample(pool, min(per_intent, len(pool))))
    from voicecoach.hearing.asr.distractors import coach_sentences

    coach = coach_sentences(grammar)
    coach = rng.sample(coach, min(coach_n, len(coach)))
    others = [*NON_COMMANDS, *coach, *GIBBERISH, TONE]
    for text in NEAR_COMMANDS:
        taken = grammar.match(text)
        if taken is None:
            others.append(text)
        else:
            commands.append((text, taken))
    sentences: list[tuple[str, Intent | None]] = [*commands, *((t, None) for t in others)]

    babble_parts = [
        _espeak(text, VOICES[i % len(VOICES)], 160, 50, work / "babble.wav")
        for i, text in enumerate(BABBLE)
    ]
    pad = np.zeros(int(PAD_S * TARGET_RATE))
    items: list[Item] = []
    audio: list[np.ndarray] = []
    for index, (text, expected) in enumerate(sentences):
        # Default: one rendering per sentence, rotating through every voice x rate x pitch;
        # --full: every sentence in every variant.
        renderings = variants if full else [variants[index % len(variants)]]
        for voice, rate, pitch in renderings:
            clean = np.concatenate([pad, _espeak(text, voice, rate, pitch, work / "s.wav"), pad])
            conditions = [("clean", clean)]
            for snr in SNRS_DB:
                white = nrng.normal(0.0, 1.0, len(clean))
                conditions.append((f"white {snr} dB", _mix(clean, white, snr)))
                babble = np.zeros(len(clean))
                for part in rng.sample(babble_parts, 4):
                    looped = np.resize(part, len(clean) + len(part))
                    start = rng.randrange(len(part))
                    babble += looped[start : start + len(clean)]
                conditions.append((f"babble {snr} dB", _mix(clean, babble, snr)))
            for condition, signal in conditions:
                items.append(Item(text, expected, voice, rate, pitch, condition))
                audio.append(np.clip(np.rint(signal), -32768, 32767).astype(np.int16))
    return items, audio


# --- worker: one approach, in its own process -------------------------------------------------

APPROACHES = {
    "whisper": "Whisper scoring + PocketSphinx hypothesis (fused)",
    "whisper-alone": "Whisper scoring grammar sentences, Silero VAD first",
    "whisper-no-vad": "Whisper scoring grammar sentences, no Silero VAD",
    "whisper-guided": "whisper-alone + a guided transcript (the commands as previous text)",
    "pocketsphinx": "PocketSphinx engine",
    "ps-no-ratio": "PocketSphinx, no phone-loop ratio",
    "ps-american": "PocketSphinx, American pronunciations only",
    "ps-loop": "PocketSphinx + coach-word loop",
    "ps-bestpath": "grammar best path (naive)",
    "ps-keyword": "general LM + keywords (naive)",
    "vosk": "Vosk engine",
    "vosk-keyword": "Vosk LM + keywords (naive)",
}


GUIDE = (
    "Start hip routine. I'm ready. Repeat that. Skip. Next. Go back. Add five minutes. Extend. "
    "Pause. Hold on. Resume. Stop. End session. How long left? Help. Slower. Faster. Louder. "
    "Quieter. Ouch. That hurts. About six."
)
"""whisper-guided's previous text: one phrasing of each command, as whisper.cpp's guided mode."""


def _open(approach: str, model_dir: str | None, grammar: Grammar):  # -> CommandEngine
    if approach.startswith("whisper"):
        from voicecoach.hearing.asr import choose_engine, open_whisper
        from voicecoach.hearing.asr.silero import SileroSpeech
        from voicecoach.hearing.asr.whisper import WhisperEngine
        from voicecoach.hearing.asr.whisper_model import bundled_model

        if approach == "whisper":
            return open_whisper(choose_engine("whisper"), grammar)
        if approach == "whisper-guided":
            return WhisperEngine(grammar, bundled_model(), speech=SileroSpeech(), context=GUIDE)
        if approach == "whisper-no-vad":
            return WhisperEngine(grammar, bundled_model())
        return WhisperEngine(grammar, bundled_model(), speech=SileroSpeech())
    if approach.startswith("vosk"):
        from voicecoach.hearing.asr.vosk import VoskEngine, VoskKeywordBaseline, load_model

        model = load_model(model_dir)
        if approach == "vosk":
            return VoskEngine(model, grammar)
        return VoskKeywordBaseline(model, grammar)
    from voicecoach.hearing.asr.pocketsphinx import (
        PocketSphinxBestPathBaseline,
        PocketSphinxEngine,
        PocketSphinxKeywordBaseline,
    )

    if approach == "ps-no-ratio":
        # Rejection design (c) switched off: no likelihood ratio against the free phone decode.
        return PocketSphinxEngine(grammar, min_log_ratio=None)
    if approach == "ps-american":
        # The CMU dictionary's pronunciations alone, without British variants.
        return PocketSphinxEngine(grammar, british=False)
    if approach == "ps-loop":
        # Rejection design (b): a loop over the coach's non-grammar words competing with the
        # commands (per-word probability 1e-8), on top of the engine's own.
        return PocketSphinxEngine(grammar, loop_prob=1e-8)
    kinds = {
        "pocketsphinx": PocketSphinxEngine,
        "ps-bestpath": PocketSphinxBestPathBaseline,
        "ps-keyword": PocketSphinxKeywordBaseline,
    }
    return kinds[approach](grammar)


def worker(approach: str, model_dir: str | None, data: Path, out: Path) -> None:
    arrays = np.load(data, allow_pickle=False)
    clips = [arrays[f"a{i}"] for i in range(len(arrays.files))]
    grammar = load_grammar()
    started = time.perf_counter()
    recognizer = _open(approach, model_dir, grammar)
    load_s = time.perf_counter() - started
    results = []
    for clip in clips:
        utterance = recognizer.decode(clip)
        intent = utterance.intent
        result = {
            "text": utterance.text,
            "intent": [intent.name, intent.slots] if intent else None,
            "decode_ms": utterance.decode_ms,
            "audio_s": len(clip) / TARGET_RATE,
        }
        if hasattr(recognizer, "last_best"):
            # Whisper: the best candidate and its margin, kept or not, and the free transcript,
            # from which the other bars and designs are worked out.
            best, margin = recognizer.last_best
            result["best"] = [best.name, best.slots] if best else None
            result["margin"] = margin if np.isfinite(margin) else None
            result["transcript"] = recognizer.last_transcript
            voted, vote_margin = recognizer.last_helper
            result["voted"] = [voted.name, voted.slots] if voted else None
            result["vote_margin"] = vote_margin if np.isfinite(vote_margin) else None
            result["pain_margin"] = (
                recognizer.last_pain if np.isfinite(recognizer.last_pain) else None
            )
        results.append(result)
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    out.write_text(
        json.dumps({"load_s": load_s, "peak_rss_mb": peak_kb / 1024, "results": results})
    )


# --- evaluation -------------------------------------------------------------------------------


def score(items: list[Item], intents: list[Intent | None]) -> dict[str, tuple[float, float]]:
    """condition -> (command accuracy, false-accept rate)."""
    out: dict[str, tuple[float, float]] = {}
    for condition in dict.fromkeys(i.condition for i in items):
        cmd = [(i, got) for i, got in zip(items, intents, strict=True) if i.condition == condition]
        commands = [(i, got) for i, got in cmd if i.expected is not None]
        others = [(i, got) for i, got in cmd if i.expected is None]
        accuracy = sum(got == i.expected for i, got in commands) / max(1, len(commands))
        false_accepts = sum(got is not None for _, got in others) / max(1, len(others))
        out[condition] = (accuracy, false_accepts)
    return out


def cost(run: dict) -> dict[str, float]:
    decode = np.array([r["decode_ms"] for r in run["results"]])
    audio_s = sum(r["audio_s"] for r in run["results"])
    return {
        "xrt": float(decode.sum() / 1000.0 / audio_s),
        "p50": float(np.percentile(decode, 50)),
        "p95": float(np.percentile(decode, 95)),
        "load": run["load_s"],
        "rss": run["peak_rss_mb"],
    }


def _intents(run: dict, key: str) -> list[Intent | None]:
    return [Intent(r[key][0], r[key][1]) if r.get(key) else None for r in run["results"]]


COSTLY = frozenset({"start_routine", "rating", "extend", "skip"})
"""Commands that set a person moving for minutes or change what is stored: worth a stricter bar."""
NEVER_DROPPED = frozenset({"pain", "stop"})
"""Commands a person must never have refused because another engine disagreed."""
STRICT_COSTLY_MARGIN = -1.0
DERIVED = {
    "whisper-free": "Whisper's free transcript (as plain words) equal to a grammar sentence",
    "w-strict": f"fused, costly commands need a margin >= {STRICT_COSTLY_MARGIN}",
    "w-agree": "fused, kept when PocketSphinx's engine gives the same command (pain, stop: always)",
}


def with_bar(
    run: dict,
    bar: float,
    costly_bar: float | None = None,
    agreed_bar: float | None = None,
    pain_bar: float | None = None,
) -> list[Intent | None]:
    """A Whisper run's results judged again at another acceptance bar (for COSTLY commands
    `costly_bar`; for a command PocketSphinx kept itself, `agreed_bar`)."""
    from voicecoach.hearing.asr.whisper import NEEDS_WHISPER

    out: list[Intent | None] = []
    for r in run["results"]:
        best, margin = r.get("best"), r.get("margin")
        voted, vote_margin = r.get("voted"), r.get("vote_margin")
        need = bar
        if best and costly_bar is not None and best[0] in COSTLY:
            need = max(bar, costly_bar)
        agreed = voted and agreed_bar is not None and voted[0] not in NEEDS_WHISPER
        pain_ok = bool(
            pain_bar is not None
            and best
            and best[0] == "pain"
            and margin is not None
            and margin >= pain_bar
        )
        if (best and margin is not None and (margin >= need or pain_ok)) or (
            agreed and best and best[0] == voted[0] and margin is not None and margin >= agreed_bar
        ):
            out.append(Intent(best[0], best[1]))
        elif (
            voted
            and agreed_bar is not None
            and vote_margin is not None
            and vote_margin >= agreed_bar
            and voted[0] not in NEEDS_WHISPER
        ):
            out.append(Intent(voted[0], voted[1]))
        else:
            out.append(None)
    return out


def derived_designs(grammar: Grammar, runs: dict) -> dict[str, list[Intent | None]]:
    """Designs judged from runs already made (same audio, no decode of their own)."""
    from voicecoach.hearing.asr.whisper import MIN_MARGIN
    from voicecoach.hearing.asr.whisper_text import plain_words

    out: dict[str, list[Intent | None]] = {}
    if "whisper-alone" in runs:
        out["whisper-free"] = [
            grammar.match(plain_words(r.get("transcript", ""))) if r.get("transcript") else None
            for r in runs["whisper-alone"]["results"]
        ]
    if "whisper" in runs:
        out["w-strict"] = with_bar(runs["whisper"], MIN_MARGIN, STRICT_COSTLY_MARGIN)
        if "pocketsphinx" in runs:
            fused = _intents(runs["whisper"], "intent")
            ps = _intents(runs["pocketsphinx"], "intent")
            out["w-agree"] = [
                f if f is not None and (f == p or f.name in NEVER_DROPPED) else None
                for f, p in zip(fused, ps, strict=True)
            ]
    return out


def sweep(items: list[Item], runs: dict) -> None:
    """Accuracy and false accepts of each Whisper run at bars from -3 to -0.5, with a stricter
    bar for costly commands ("strict"), and with a lower bar for commands PocketSphinx kept
    itself ("bar/agreed"), for espeak-ng's voices and festival's apart (tune on one, check on
    the other)."""
    bars = [-3.0, -2.5, -2.0, -1.5, -1.0, -0.5]
    for approach, run in runs.items():
        if not any("margin" in r for r in run["results"]):
            continue
        for fam in ("espeak-ng", "festival"):
            keep = [i for i, item in enumerate(items) if family(item.voice) == fam]
            sub = [items[i] for i in keep]
            print(f"\nsweep {approach}, {fam} voices ({len(sub)} utterances)")
            print(
                f"{'bar':>14} {'clean':>7} {'10 dB':>7} {'5 dB':>7} {'FA clean':>9} {'FA noisy':>9}"
            )
            settings: list[tuple[str, float, float | None, float | None, float | None]] = [
                (f"{bar:.1f}", bar, None, None, None) for bar in bars
            ]
            settings.append(("strict", -2.0, STRICT_COSTLY_MARGIN, None, None))
            if any("voted" in r for r in run["results"]):
                for bar in (-2.0, -1.5, -1.0):
                    for agreed in (-3.0, -4.0, -5.0):
                        settings.append((f"{bar:.1f}/{agreed:.0f}", bar, None, agreed, None))
                for pain in (-2.5, -3.0, -3.5):
                    settings.append((f"-2/-4 p{pain:g}", -2.0, None, -4.0, pain))
            for label, bar, costly, agreed, pain in settings:
                judged = with_bar(run, bar, costly, agreed, pain)
                sc = score(sub, [judged[i] for i in keep])
                acc10 = np.mean([v[0] for c, v in sc.items() if "10 dB" in c])
                acc5 = np.mean([v[0] for c, v in sc.items() if " 5 dB" in c])
                fa_noisy = np.mean([v[1] for c, v in sc.items() if c != "clean"])
                print(
                    f"{label:>14} {sc['clean'][0]:>7.1%} {acc10:>7.1%} {acc5:>7.1%} "
                    f"{sc['clean'][1]:>9.1%} {fa_noisy:>9.1%}"
                )


def _print_errors(items: list[Item], runs: dict) -> None:
    """The clean-condition mistakes of each engine: what was said and what it made of it."""
    for approach, run in runs.items():
        wrong = []
        for item, r in zip(items, run["results"], strict=True):
            if item.condition != "clean":
                continue
            got = Intent(r["intent"][0], r["intent"][1]) if r["intent"] else None
            if got != item.expected:
                wrong.append(f"{item.text!r} ({item.voice}) -> {got.name if got else None}")
        if wrong:
            print(f"clean mistakes, {approach}: " + "; ".join(wrong))


TARGETS = {
    "accuracy clean": ">= 99%",
    "accuracy white 10 dB": ">= 97%",
    "accuracy babble 10 dB": ">= 97%",
    "accuracy white 5 dB": ">= 90%",
    "accuracy babble 5 dB": ">= 90%",
    "false accepts clean": "<= 1%",
    "false accepts noisy (mean)": "<= 1%",
    "decode p95 ms": "<= 150",
    "model load s": "<= 1.5",
    "peak RSS MB": "<= 350",
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", metavar="DIR", help="Vosk model directory")
    parser.add_argument(
        "--full",
        action="store_true",
        help="every sentence in every voice x rate x pitch (default: one each, rotating)",
    )
    parser.add_argument("--per-intent", type=int, default=1, help="extra sentences per intent")
    parser.add_argument("--coach", type=int, default=20, help="coach's sentences in the set")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--approaches", help="comma-separated subset of " + ",".join(APPROACHES))
    parser.add_argument(
        "--sweep",
        action="store_true",
        help="Whisper's acceptance bar from -3 to -0.5, espeak-ng and festival voices apart",
    )
    parser.add_argument(
        "--keep",
        type=Path,
        metavar="DIR",
        help="save each approach's results in DIR, and take from it the results of approaches "
        "not named in --approaches that were made on the same set (e.g. PocketSphinx's, "
        "for the designs that combine it with a new Whisper run)",
    )
    parser.add_argument("--worker", choices=list(APPROACHES), help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args.worker, args.model, args.data, args.out)
        return 0

    from voicecoach.hearing.asr.vosk import resolve_model_dir

    try:
        if shutil.which("espeak-ng") is None:
            raise VoicecoachError("espeak-ng is not installed: run scripts/setup")
        approaches = ["whisper", "whisper-alone", "pocketsphinx", "ps-bestpath", "ps-keyword"]
        vosk_dir: str | None = None
        try:
            vosk_dir = str(resolve_model_dir(args.model))
            approaches += ["vosk", "vosk-keyword"]
        except VoicecoachError as exc:
            print(f"bench: no Vosk model, Vosk not measured ({str(exc).split(';')[0]})")
        if args.approaches:
            # Any approach by name (ps-loop is only measured when asked for); Vosk's need a model.
            wanted = args.approaches.split(",")
            unknown = [a for a in wanted if a not in APPROACHES]
            if unknown:
                raise VoicecoachError(f"unknown approach {unknown[0]!r}: one of {list(APPROACHES)}")
            approaches = [a for a in wanted if vosk_dir or not a.startswith("vosk")]
        grammar = load_grammar()
        variants = list(itertools.product(VOICES, RATES, PITCHES))
        variants += [(voice, rate, 100) for voice in FESTIVAL_VOICES for rate in RATES]
        if shutil.which("text2wave") is None:
            raise VoicecoachError("festival is not installed: run scripts/setup")
        with tempfile.TemporaryDirectory(prefix="voicecoach-bench-") as tmp:
            work = Path(tmp)
            items, audio = build_corpus(
                grammar, variants, args.full, args.per_intent, args.seed, work, args.coach
            )
            data = work / "corpus.npz"
            np.savez(data, **{f"a{i}": a for i, a in enumerate(audio)})
            runs = {}
            fingerprint = hashlib.sha256(
                json.dumps(
                    [[i.text, i.voice, i.rate, i.pitch, i.condition] for i in items]
                ).encode()
                + b"".join(a.tobytes() for a in audio)
            ).hexdigest()
            if args.keep:
                args.keep.mkdir(parents=True, exist_ok=True)
                for kept in sorted(args.keep.glob("*.json")):
                    record = json.loads(kept.read_text())
                    if record.get("set") == fingerprint and kept.stem not in approaches:
                        runs[kept.stem] = record
                        print(f"bench: {kept.stem}'s results taken from {kept}")
            for approach in approaches:
                out = work / f"{approach}.json"
                env = {**os.environ, "OMP_NUM_THREADS": "1"}
                command = [sys.executable, __file__, "--worker", approach]
                command += ["--data", str(data), "--out", str(out)]
                if vosk_dir:
                    command += ["--model", vosk_dir]
                subprocess.run(command, check=True, env=env)
                runs[approach] = json.loads(out.read_text())
                if args.keep:
                    record = {**runs[approach], "set": fingerprint}
                    (args.keep / f"{approach}.json").write_text(json.dumps(record))
    except VoicecoachError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 1
    except subprocess.CalledProcessError as exc:
        print(
            f"bench: {Path(exc.cmd[0]).name} failed with exit status {exc.returncode}",
            file=sys.stderr,
        )
        return 1

    scores, costs = {}, {}
    for approach, run in runs.items():
        scores[approach] = score(items, _intents(run, "intent"))
        costs[approach] = cost(run)
    derived = derived_designs(grammar, runs)
    for name, intents in derived.items():
        scores[name] = score(items, intents)

    n_cmd = len({(i.text, i.voice, i.rate, i.pitch) for i in items if i.expected is not None})
    n_non = len({(i.text, i.voice, i.rate, i.pitch) for i in items if i.expected is None})
    print(
        f"set: {n_cmd} command and {n_non} non-command utterances per condition "
        f"({args.coach} of them the coach's own sentences); voices "
        f"{sorted({v[0] for v in variants})}, rates {sorted({v[1] for v in variants})}, "
        f"pitches {sorted({v[2] for v in variants})}"
    )
    print()
    width = 14
    columns = [*runs, *derived]
    print(f"{'':28}" + "".join(f"{a:>{width}}" for a in columns) + "   target")
    conditions = list(next(iter(scores.values())))

    def row(label: str, values: list[str]) -> None:
        print(
            f"{label:28}"
            + "".join(f"{v:>{width}}" for v in values)
            + f"   {TARGETS.get(label, '')}"
        )

    for condition in conditions:
        row(f"accuracy {condition}", [f"{scores[a][condition][0]:.1%}" for a in columns])
    for condition in conditions:
        row(f"false accepts {condition}", [f"{scores[a][condition][1]:.1%}" for a in columns])
    noisy = [c for c in conditions if c != "clean"]
    row(
        "false accepts noisy (mean)",
        [f"{np.mean([scores[a][c][1] for c in noisy]):.1%}" for a in columns],
    )
    row("decode p50 ms", [f"{costs[a]['p50']:.1f}" for a in runs])
    row("decode p95 ms", [f"{costs[a]['p95']:.1f}" for a in runs])
    row("decode xRT", [f"{costs[a]['xrt']:.3f}" for a in runs])
    row("model load s", [f"{costs[a]['load']:.2f}" for a in runs])
    row("peak RSS MB", [f"{costs[a]['rss']:.0f}" for a in runs])
    print(
        "derived (no process of their own; accuracy only): "
        + "; ".join(f"{k}: {DERIVED[k]}" for k in derived)
    )
    _print_errors(items, runs)
    if args.sweep:
        sweep(items, runs)
    print()
    command = [os.path.relpath(sys.executable), os.path.relpath(__file__), *sys.argv[1:]]
    print("command: " + shlex.join(command))
    return 0


if __name__ == "__main__":
    sys.exit(main())
