"""Recognition benchmark: the grammar recognizer against full-vocabulary transcription + keywords.

Synthesizes commands and non-command sentences with espeak-ng (several voices, rates, pitches),
adds white and babble noise at several SNRs, decodes everything with both approaches (each in its
own process, so load time and peak RSS are its own) and prints a table with the command line that
produced it. Run: .venv/bin/python bench/recognition.py [--full] [--model DIR]
"""

from __future__ import annotations

import argparse
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
from voicecoach.grammar import Grammar, load_grammar
from voicecoach.messages import Intent
from voicecoach.wavio import TARGET_RATE, read_wav

VOICES = ["en-us", "en", "en+f3"]
RATES = [140, 175]
PITCHES = [40, 60]
SNRS_DB = [20, 10, 5]
THRESHOLDS = [0.0, 0.3, 0.5, 0.6, 0.7, 0.8, 0.9]
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
    subprocess.run(
        ["espeak-ng", "-v", voice, "-s", str(rate), "-p", str(pitch), "-w", str(path), text],
        check=True,
        capture_output=True,
    )
    return read_wav(path).astype(np.float64)


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
    sentences: list[tuple[str, Intent | None]] = [*commands, *((t, None) for t in NON_COMMANDS)]

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


def worker(approach: str, model_dir: str, data: Path, out: Path) -> None:
    from voicecoach.asr.vosk import VoskEngine, VoskKeywordBaseline, load_model

    arrays = np.load(data, allow_pickle=False)
    clips = [arrays[f"a{i}"] for i in range(len(arrays.files))]
    started = time.perf_counter()
    model = load_model(model_dir)
    load_s = time.perf_counter() - started
    grammar = load_grammar()
    if approach == "grammar":
        recognizer = VoskEngine(model, grammar, min_word_confidence=0.0)
    else:
        recognizer = VoskKeywordBaseline(model, grammar)
    results = []
    for clip in clips:
        utterance = recognizer.decode(clip)
        results.append(
            {
                "text": utterance.text,
                "words": recognizer.last_words,
                "decode_ms": utterance.decode_ms,
                "audio_s": len(clip) / TARGET_RATE,
            }
        )
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    out.write_text(
        json.dumps({"load_s": load_s, "peak_rss_mb": peak_kb / 1024, "results": results})
    )


# --- evaluation -------------------------------------------------------------------------------


def _grammar_intent(grammar: Grammar, threshold: float, result: dict) -> Intent | None:
    from voicecoach.asr.vosk import VoskEngine

    judge = object.__new__(VoskEngine)
    judge.grammar = grammar
    judge.min_word_confidence = threshold
    return judge.judge(result["text"], result["words"]) if result["text"] else None


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", metavar="DIR", help="Vosk model directory")
    parser.add_argument(
        "--full",
        action="store_true",
        help="every sentence in every voice x rate x pitch (default: one each, rotating)",
    )
    parser.add_argument("--per-intent", type=int, default=2, help="extra sentences per intent")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--threshold", type=float, help="word confidence threshold to report")
    parser.add_argument("--worker", choices=["grammar", "keyword"], help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args.worker, args.model, args.data, args.out)
        return 0

    from voicecoach.asr.vosk import resolve_model_dir
    from voicecoach.model_fetch import read_manifest

    try:
        model_dir = resolve_model_dir(args.model)
        if shutil.which("espeak-ng") is None:
            raise VoicecoachError("espeak-ng is not installed: run scripts/setup")
        threshold = (
            args.threshold if args.threshold is not None else read_manifest().min_word_confidence
        )
        grammar = load_grammar()
        variants = list(itertools.product(VOICES, RATES, PITCHES))
        with tempfile.TemporaryDirectory(prefix="voicecoach-bench-") as tmp:
            work = Path(tmp)
            items, audio = build_corpus(
                grammar, variants, args.full, args.per_intent, args.seed, work
            )
            data = work / "corpus.npz"
            np.savez(data, **{f"a{i}": a for i, a in enumerate(audio)})
            runs = {}
            for approach in ("grammar", "keyword"):
                out = work / f"{approach}.json"
                env = {**os.environ, "OMP_NUM_THREADS": "1"}
                subprocess.run(
                    [
                        sys.executable,
                        __file__,
                        "--worker",
                        approach,
                        "--model",
                        str(model_dir),
                        "--data",
                        str(data),
                        "--out",
                        str(out),
                    ],
                    check=True,
                    env=env,
                )
                runs[approach] = json.loads(out.read_text())
    except VoicecoachError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 1
    except subprocess.CalledProcessError as exc:
        print(
            f"bench: {Path(exc.cmd[0]).name} failed with exit status {exc.returncode}",
            file=sys.stderr,
        )
        return 1

    results_g = runs["grammar"]["results"]
    results_k = runs["keyword"]["results"]
    grammar_intents = [_grammar_intent(grammar, threshold, r) for r in results_g]
    from voicecoach.asr.baselines import keyword_search, keyword_table

    table = keyword_table(grammar)
    keyword_intents = [keyword_search(table, r["text"]) if r["text"] else None for r in results_k]
    s_g, s_k = score(items, grammar_intents), score(items, keyword_intents)
    c_g, c_k = cost(runs["grammar"]), cost(runs["keyword"])

    n_cmd = len({(i.text, i.voice, i.rate, i.pitch) for i in items if i.expected is not None})
    n_non = len({(i.text, i.voice, i.rate, i.pitch) for i in items if i.expected is None})
    print(f"model: {model_dir}")
    print(
        f"set: {n_cmd} command and {n_non} non-command utterances per condition; voices "
        f"{sorted({v[0] for v in variants})}, rates {sorted({v[1] for v in variants})}, "
        f"pitches {sorted({v[2] for v in variants})}; word confidence threshold {threshold}"
    )
    print()
    print(f"{'':28}{'grammar':>12}{'keyword':>12}   target")
    for condition in s_g:
        target = {"clean": ">= 98%", "white 10 dB": ">= 95%", "babble 10 dB": ">= 95%"}
        print(
            f"{'accuracy ' + condition:28}{s_g[condition][0]:>11.1%} {s_k[condition][0]:>11.1%}"
            f"   {target.get(condition, '')}"
        )
    for condition in s_g:
        print(
            f"{'false accepts ' + condition:28}{s_g[condition][1]:>11.1%} "
            f"{s_k[condition][1]:>11.1%}   <= 2%"
        )
    print(f"{'decode xRT':28}{c_g['xrt']:>12.3f}{c_k['xrt']:>12.3f}   <= 0.1")
    print(f"{'decode p50 ms':28}{c_g['p50']:>12.1f}{c_k['p50']:>12.1f}")
    print(f"{'decode p95 ms':28}{c_g['p95']:>12.1f}{c_k['p95']:>12.1f}")
    print(f"{'model load s':28}{c_g['load']:>12.2f}{c_k['load']:>12.2f}   <= 2")
    print(f"{'peak RSS MB':28}{c_g['rss']:>12.0f}{c_k['rss']:>12.0f}   <= 250")
    print()
    print("grammar recognizer by word confidence threshold (all conditions):")
    print(f"{'threshold':>10}{'acc clean':>11}{'acc 10 dB':>11}{'false acc':>11}")
    for t in THRESHOLDS:
        intents = [_grammar_intent(grammar, t, r) for r in results_g]
        sc = score(items, intents)
        ten = [sc[c][0] for c in sc if c.endswith(" 10 dB")]
        fa = np.mean([sc[c][1] for c in sc])
        print(f"{t:>10.2f}{sc['clean'][0]:>11.1%}{np.mean(ten):>11.1%}{fa:>11.1%}")
    print()
    command = [os.path.relpath(sys.executable), os.path.relpath(__file__), *sys.argv[1:]]
    print("command: " + shlex.join(command))
    return 0


if __name__ == "__main__":
    sys.exit(main())
