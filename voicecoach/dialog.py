"""Turns cues into words: the wording lives in data/prompts.yaml, the choices in the session.

`Dialog.render` picks among a prompt's variants so a long routine does not repeat itself word for
word (deterministically, from a seed), fills placeholders, and says durations in natural words.
"""

from __future__ import annotations

import logging
import math
import random
import re
import string
from collections.abc import Mapping, Sequence
from pathlib import Path

import yaml

from voicecoach import paths
from voicecoach.errors import VoicecoachError
from voicecoach.messages import Cue
from voicecoach.summary import SessionSummary, SideResult

_LOGGER = logging.getLogger(__name__)

PROMPTS_FILE = paths.PACKAGE_DATA / "prompts.yaml"

_ONES = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
_TENS = ["_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_ORDINALS = {
    1: "first",
    2: "second",
    3: "third",
    4: "fourth",
    5: "fifth",
    6: "sixth",
    7: "seventh",
    8: "eighth",
    9: "ninth",
    10: "tenth",
    11: "eleventh",
    12: "twelfth",
}

# Always allowed, so not worth listing when telling what can be said.
_SUMMARY_MISSES = 2
"""At most this many exercises not held in full are named in the spoken summary."""

_SPEECH_INTENTS = ("slower", "faster", "louder", "quieter")
_UNSPOKEN = ("help", *_SPEECH_INTENTS)
"""Left out of "You can say: ..." lists: help is what was just said, and the voice commands get
a sentence of their own (help_voice)."""

# Cue data fields that hold whole counts and are also said in words ({reps_words}).
_COUNT_FIELDS = ("steps", "reps", "reps_left", "reps_added", "max_reps", "value")

# Cue data fields that hold seconds and are said as durations.
_DURATION_FIELDS = (
    "duration", "remaining", "added", "total", "max", "window", "seconds", "achieved",
)  # fmt: skip


def number_words(n: int) -> str:
    """0..999999 in words: 42 -> "forty-two"."""
    if n < 0:
        return "minus " + number_words(-n)
    if n < 20:
        return _ONES[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return _TENS[tens] + (f"-{_ONES[ones]}" if ones else "")
    if n < 1000:
        hundreds, rest = divmod(n, 100)
        return f"{_ONES[hundreds]} hundred" + (f" and {number_words(rest)}" if rest else "")
    thousands, rest = divmod(n, 1000)
    sep = " and " if 0 < rest < 100 else " "
    return f"{number_words(thousands)} thousand" + (f"{sep}{number_words(rest)}" if rest else "")


def ordinal_words(n: int) -> str:
    """1 -> "first"; beyond twelve, "13th" style is avoided: "number thirteen"."""
    return _ORDINALS.get(n, f"number {number_words(n)}")


def _unit(n: int, word: str) -> str:
    return f"{number_words(n)} {word}" + ("" if n == 1 else "s")


def say_duration(seconds: float, *, about: bool = True) -> str:
    """A duration in natural words: 30 -> "thirty seconds", 263 -> "about four minutes and twenty
    seconds", 600 -> "ten minutes".

    Under two minutes it is said to the second; from two minutes to the nearest ten seconds, from
    twenty minutes to the nearest minute. "about" is added when rounding moved it by a second or
    more (and `about` is true).
    """
    seconds = max(0.0, float(seconds))
    if seconds < 0.5:
        return "no time at all"
    unit = 1 if seconds < 120 else 10 if seconds < 1200 else 60
    rounded = math.floor(seconds / unit + 0.5) * unit  # halves round up, as people expect
    prefix = "about " if about and abs(rounded - seconds) >= 1.0 else ""
    hours, rest = divmod(int(rounded), 3600)
    minutes, secs = divmod(rest, 60)
    parts = []
    if hours:
        parts.append(_unit(hours, "hour"))
    if minutes:
        parts.append(_unit(minutes, "minute"))
    if secs:
        parts.append(_unit(secs, "second"))
    return prefix + " and ".join(parts)


def join_words(items: Sequence[str], last: str = "or") -> str:
    """["a", "b", "c"] -> "a, b or c"."""
    items = [str(item) for item in items if item]
    if not items:
        return ""
    if len(items) == 1:
        return items[0]
    return f"{', '.join(items[:-1])} {last} {items[-1]}"


def _in_minutes(*values: object) -> bool:
    """Whether a range is said in minutes: both ends whole minutes, two or more."""
    nums = [v for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
    return len(nums) == len(values) and all(v >= 120 and v % 60 == 0 for v in nums)


def say_range(low: float, high: float) -> str:
    """A range the source gives: (20, 30) -> "twenty to thirty seconds", (600, 900) -> "ten to
    fifteen minutes"."""
    if _in_minutes(low, high):
        return f"{number_words(round(low / 60))} to {number_words(round(high / 60))} minutes"
    return f"{number_words(round(low))} to {number_words(round(high))} seconds"


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


_SENTENCE_START = re.compile(r"([.!?]\s+)([a-z])")


def _sentences(text: str) -> str:
    """Capitalize the start of every sentence (placeholders arrive in lower case)."""
    return _SENTENCE_START.sub(lambda m: m.group(1) + m.group(2).upper(), _cap(text))


def _sentence(text: str) -> str:
    text = text.strip()
    return text if not text or text[-1] in ".!?" else text + "."


class _Blank(dict[str, str]):
    def __missing__(self, key: str) -> str:
        _LOGGER.warning("prompt placeholder {%s} has no value", key)
        return ""


def load_prompts(path: Path = PROMPTS_FILE) -> dict[str, object]:
    """Read the prompts file; every key maps to a non-empty list of variants."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise VoicecoachError(f"{path}: expected a readable YAML prompts file, got {exc}") from exc
    if not isinstance(data, dict):
        raise VoicecoachError(
            f"{path}: expected a mapping of prompt keys, got {type(data).__name__}"
        )
    for key, value in data.items():
        if key == "intent_phrases":
            if not isinstance(value, dict):
                raise VoicecoachError(f"{path}: intent_phrases: expected a mapping")
            continue
        if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
            raise VoicecoachError(f"{path}: {key}: expected a non-empty list of variants")
    return data


def _result_words(name: str, results: list[SideResult]) -> str:
    """How one exercise's sides went, in a few words ("psoas slide left, skipped")."""
    if all(r.skipped for r in results):
        sides = [r.side for r in results if r.side]
        if len(results) == 1 and sides:
            return f"{name} {sides[0]}, skipped"
        return f"{name}, skipped"
    # A side reached but never held (stopped in its setup) is left out, not "no time at all".
    results = [r for r in results if r.skipped or r.achieved_s > 0]

    def amount(r: SideResult) -> str:
        if r.skipped:
            return "skipped"
        if r.reps:  # part of a first repetition is said as time, not "zero repetitions"
            return _unit(r.reps, "repetition")
        return say_duration(r.achieved_s, about=False)

    if len(results) == 2 and all(r.reps and not r.skipped for r in results):
        first, second = (number_words(r.reps or 0) for r in results)
        if first == second:
            return f"{name} {first} repetitions each side"
        return f"{name} {first} and {second} repetitions"
    amounts = [amount(r) for r in results]
    if len(results) == 1:
        side = f" {results[0].side}" if results[0].side else ""
        return f"{name}{side} {amounts[0]}"
    if len(set(amounts)) == 1 and len(results) == 2:
        return f"{name} {amounts[0]} each side"
    return f"{name} " + join_words(
        # The side first: "thirty seconds left" would sound like time remaining.
        [f"{r.side} {a}" if r.side else a for a, r in zip(amounts, results, strict=True)],
        "and",
    )


class Dialog:
    """Words for cues. Deterministic for a given seed; variants rotate without repeating."""

    def __init__(self, prompts: Mapping[str, object] | None = None, *, seed: int = 0) -> None:
        self._prompts = dict(prompts) if prompts is not None else load_prompts()
        phrases = self._prompts.get("intent_phrases", {})
        self._phrases: dict[str, str] = dict(phrases) if isinstance(phrases, dict) else {}
        self._rng = random.Random(seed)
        self._queues: dict[str, list[int]] = {}
        self._last: dict[str, int] = {}

    def prompt_keys(self) -> set[str]:
        return {key for key in self._prompts if key != "intent_phrases"}

    def variants(self, key: str) -> list[str]:
        value = self._prompts.get(key)
        if not isinstance(value, list):
            raise KeyError(key)
        return value

    def _pick(self, key: str) -> str:
        variants = self.variants(key)
        if len(variants) == 1:
            return variants[0]
        queue = self._queues.get(key)
        if not queue:
            queue = list(range(len(variants)))
            self._rng.shuffle(queue)
            if queue[0] == self._last.get(key):  # never the same wording twice in a row
                queue.append(queue.pop(0))
            self._queues[key] = queue
        index = queue.pop(0)
        self._last[key] = index
        return variants[index]

    def _fill(self, key: str, fields: Mapping[str, str]) -> str:
        template = self._pick(key)
        text = string.Formatter().vformat(template, (), _Blank(fields))
        return _sentences(" ".join(text.split()))

    @staticmethod
    def key_for(cue: Cue) -> str:
        """The prompt key a cue is worded with (some cues pick a variant key from their data)."""
        d = cue.data
        key = cue.prompt_key
        if key in ("countdown", "last_rep") and d.get("next"):
            return f"{key}_next"
        if key == "paused" and not d.get("in_hold", True):
            return "paused_setup"
        if key == "pain" and not d.get("ended_hold", True):
            return "pain_setup"
        if key == "pain_options" and d.get("again"):
            return "pain_options_again"
        if key == "pace_faster_limit" and d.get("never"):
            return "pace_faster_never"
        if key == "declined_after_pain" and d.get("both"):
            return "declined_after_pain_both"
        if key == "side_switch" and d.get("skipped_side"):
            return "side_after_skip"
        if key == "stopped" and d.get("in_hold"):
            return "stopped_hold"
        if key == "hold_start" and d.get("range_low") is not None:
            minutes = _in_minutes(d.get("range_low"), d.get("range_high"))
            return "hold_start_range_minutes" if minutes else "hold_start_range"
        if key == "time_left" and d.get("reps_left") is not None:
            return "time_left_reps"
        if key in ("extended", "extended_capped") and d.get("reps") is not None:
            return f"{key}_reps"
        if key == "extend_at_max" and d.get("max_reps") is not None:
            return "extend_at_max_reps"
        if key == "not_paused" and d.get("remaining") is None:
            return "not_paused_plain"
        if key == "reps_start" and not d.get("side_name"):
            return "reps_start_none"
        if key == "help":
            base = "help_routines" if d.get("routines") else "help"
            return f"{base}_with_more" if d.get("more") else base
        return key

    def phrase(self, intent: str) -> str:
        return self._phrases.get(intent, intent.replace("_", " "))

    def fields(self, data: Mapping[str, object]) -> dict[str, str]:
        """Cue data as words, plus derived fields (capitalized durations, side parts...)."""
        out: dict[str, str] = {}
        for name, value in data.items():
            if name in _DURATION_FIELDS and isinstance(value, int | float):
                out[name] = say_duration(value)
                out[f"{name}_cap"] = _cap(out[name])
            elif name in ("routines",) and isinstance(value, list):
                out[name] = join_words([str(v) for v in value])
            elif name == "allowed" and isinstance(value, list):
                out[name] = join_words([self.phrase(str(v)) for v in value if v not in _UNSPOKEN])
                # Help names the voice commands too, and "wait" where the coach offers it.
                voice = any(v in _SPEECH_INTENTS for v in value)
                paced = voice and data.get("paced") is True
                out["voice_part"] = (
                    self._fill(f"help_voice{'_paced' if paced else ''}", {}) if voice else ""
                )
                waits = "pause" in value and data.get("state") in ("setup", "side_switch")
                out["wait_part"] = self._fill("help_wait", {}) if waits else ""
            elif name == "steps" and isinstance(value, list):
                out[name] = " ".join(_sentence(str(v)) for v in value)
            elif isinstance(value, bool) or value is None:
                continue
            elif isinstance(value, int) and name in _COUNT_FIELDS:
                out[name] = str(value)
                out[f"{name}_words"] = number_words(value)
                out[f"{name}_s"] = "" if value == 1 else "s"  # "one step", "nine steps"
            else:
                out[name] = str(value)
        low, high = data.get("range_low"), data.get("range_high")
        if isinstance(low, int | float) and isinstance(high, int | float):
            out["range"] = say_range(low, high)
            out["range_cap"] = _cap(out["range"])
            duration = data.get("duration")
            if isinstance(duration, int | float):
                # "I'll count thirty": the number alone when the range is in seconds.
                minutes = _in_minutes(low, high)
                out["count"] = say_duration(duration) if minutes else number_words(round(duration))
        begin = data.get("begin")
        out["begin_part"] = f", {str(begin).rstrip('.')}" if begin else ""
        skipped_side = data.get("skipped_side")
        if skipped_side:
            out["skipped_side_cap"] = _cap(str(skipped_side))
        side_name = data.get("side_name")
        out["side_name"] = str(side_name) if side_name else "side"
        out["side_name_cap"] = _cap(out["side_name"])
        out["side_part"] = f", {side_name}" if side_name else ""
        if "side" in data and not side_name:
            side = data.get("side")
            out["side_part"] = f", {side} side" if side else ""
        why = data.get("why")
        out["why_part"] = _sentence(str(why)) + " " if why and data.get("first_side") else ""
        if "switch" in data:
            out["switch"] = (
                _sentence(str(data["switch"])) if data.get("switch") else "Switch sides."
            )
        return out

    def render(self, cue: Cue) -> str:
        """The words for one cue."""
        if cue.prompt_key == "summary":
            summary = cue.data.get("summary")
            if isinstance(summary, SessionSummary):
                names = cue.data.get("names")
                routine = cue.data.get("routine")
                advised = cue.data.get("advised")
                advised_for = cue.data.get("advised_for")
                return self.render_summary(
                    summary,
                    names if isinstance(names, dict) else {},
                    str(routine) if routine else None,
                    advised=str(advised) if advised else None,
                    advised_for=str(advised_for) if advised_for else None,
                )
        key = self.key_for(cue)
        try:
            return self._fill(key, self.fields(cue.data))
        except KeyError:
            _LOGGER.warning("no prompt for key %r", key)
            return key.replace("_", " ")

    # --- the summary -------------------------------------------------------------------------

    def render_summary(
        self,
        summary: SessionSummary,
        names: Mapping[str, str] | None = None,
        routine: str | None = None,
        *,
        advised: str | None = None,
        advised_for: str | None = None,
    ) -> str:
        """The spoken summary, short (under twenty seconds of speech at the default rate): what
        each exercise achieved, pain, stiffness, the daily count and the streak. Each fact is
        said once; counts of skips, pauses and added time are left to `voicecoach history`.
        `advised` is how many sessions a day the source advises ("two to three") for
        `advised_for` (a routine name), said only when this session held its exercises."""
        names = names or {}
        routine_name = routine or summary.routine or "this"
        parts: list[str] = []
        total = say_duration(summary.total_s)
        if summary.completed:
            parts.append(self._fill("summary_intro", {"routine": routine_name, "total": total}))
        elif summary.all_skipped:
            parts.append(self._fill("summary_intro_nothing", {"total": total}))
        else:
            parts.append(self._fill("summary_intro_stopped", {"total": total}))
        grouped: dict[str, list[SideResult]] = {}
        for result in summary.results:
            grouped.setdefault(result.exercise, []).append(result)
        if summary.completed:
            # A completed routine: the sides not held in full, at most two (the rest is
            # history's detail); the holds done in full go without saying one by one.
            misses = {
                ex: [r for r in results if not r.completed]
                for ex, results in grouped.items()
                if any(r.skipped or (r.achieved_s > 0 and not r.completed) for r in results)
            }
            phrases = [
                _result_words(names.get(ex, ex.replace("_", " ")), results)
                for ex, results in misses.items()
            ]
            in_full = sum(r.completed for r in summary.results)
            missed = sum(
                r.skipped or (r.achieved_s > 0 and not r.completed) for r in summary.results
            )
            if not phrases:
                parts.append(self._fill("summary_all_in_full", {}))
            elif missed > in_full:
                # Most of it was not done: say what was, never "all in full, except" the most.
                held = [
                    _result_words(
                        names.get(ex, ex.replace("_", " ")),
                        [r for r in results if r.achieved_s > 0],
                    )
                    for ex, results in grouped.items()
                    if any(r.achieved_s > 0 for r in results)
                ]
                parts.append(self._fill("summary_mostly_not_done", {"results": "; ".join(held)}))
            else:
                more = len(phrases) - _SUMMARY_MISSES
                shown = "; ".join(phrases[:_SUMMARY_MISSES])
                if more > 0:
                    shown += f"; and {number_words(more)} more"
                parts.append(self._fill("summary_in_full_except", {"results": shown}))
        else:
            phrases = [
                _result_words(names.get(ex, ex.replace("_", " ")), results)
                for ex, results in grouped.items()
                if any(r.achieved_s > 0 or r.skipped for r in results)
            ]
            if phrases:
                parts.append(self._fill("summary_results", {"results": "; ".join(phrases)}))
        stopped = sum(r.stopped for r in summary.results)
        if stopped:
            # The holds pain stopped are reported as stops; the sides' times are the holds done.
            holds = "one hold" if stopped == 1 else f"{number_words(stopped)} holds"
            parts.append(self._fill("summary_pain_stopped", {"holds": holds}))
        elif summary.pain_events:
            times = {1: "once", 2: "twice"}.get(summary.pain_events)
            times = times or f"{number_words(summary.pain_events)} times"
            parts.append(self._fill("summary_pain", {"times": times}))
        if summary.stiffness_before is not None and summary.stiffness_after is not None:
            parts.append(
                self._fill(
                    "summary_stiffness",
                    {
                        "before": number_words(summary.stiffness_before),
                        "after": number_words(summary.stiffness_after),
                    },
                )
            )
        elif summary.stiffness_before is not None and summary.stiffness_after is None:
            before = number_words(summary.stiffness_before)
            parts.append(self._fill("summary_stiffness_before", {"before": before}))
        if not summary.completed:
            # Progress counts this session "if it completes": a stopped one is neither today's
            # next session nor part of the streak.
            return " ".join(parts)
        # The daily count is the source's advice for one stretch: it counts the sessions that
        # held it, and is not said for a session without it.
        if advised and summary.advised_today:
            fields = {
                "ordinal": ordinal_words(summary.advised_today),
                "ordinal_cap": _cap(ordinal_words(summary.advised_today)),
                "advised": advised,
                "routine": advised_for or routine_name,
            }
            parts.append(self._fill("summary_today_advised", fields))
        if summary.streak_days and summary.streak_days >= 2:
            days = number_words(summary.streak_days)
            parts.append(self._fill("summary_streak", {"days": days}))
        return " ".join(parts)
