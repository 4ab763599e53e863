"""The demo's person: heard by the real listener over the coach's voice, gated on what the coach
said in text mode, and an espeak-ng failure as one clear error."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.demo.helpers import SCRIPTED_INTENTS, transcript_lines
from voicecoach.demo import TEXT_MODE_NOTE
from voicecoach.messages import Cue


class _EarOnlyRecognizer:
    """Stands in for Vosk in the demo's model path: it recognizes the line the person is saying,
    but only if the listener detected speech and fed it at least a word's worth of audio."""

    name = "stand-in"

    def __init__(self, person_lines: list[str], grammar) -> None:
        self._lines = person_lines
        self._grammar = grammar
        self._fed = 0

    def accept(self, chunk: bytes):
        self._fed += len(chunk) // 2
        return None

    def flush(self):
        from voicecoach.messages import Utterance

        fed, self._fed = self._fed, 0
        if fed < 0.3 * 16_000 or not self._lines:
            return None
        text = self._lines[-1]
        return Utterance(text, self._grammar.match(text), 0.95)

    def reset(self) -> None:
        self._fed = 0


def test_the_model_path_mixes_the_person_over_the_coach_and_the_listener_hears_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a model the person's audio goes through the real listener, mixed with the coach's
    voice. Vosk is not installable here, so only the decoder is a stand-in: the mixing, the
    end-of-speech detection over the coach's voice, the gating and the dispatch are real."""
    import voicecoach.demo as demo_module
    import voicecoach.hearing.asr as asr

    monkeypatch.setenv("VOICECOACH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("VOICECOACH_CONFIG_DIR", str(tmp_path / "config"))
    made: list[_EarOnlyRecognizer] = []
    said: list[str] = []
    real_person_speak = demo_module.Person._speak

    def speak(self) -> None:  # let the stand-in know which line is being said
        said.append(self.script[0].text)
        real_person_speak(self)

    monkeypatch.setattr(demo_module.Person, "_speak", speak)

    def recognizer(_choice, grammar, **_kw):
        made.append(_EarOnlyRecognizer(said, grammar))
        return made[0]

    monkeypatch.setattr(asr, "open_engine", recognizer)
    assert demo_module.run_demo(tmp_path / "out", speed=0, echo=None) == 0
    text = (tmp_path / "out" / "transcript.txt").read_text()
    assert TEXT_MODE_NOTE not in text
    fired = [x.split()[2] for _t, x in transcript_lines(tmp_path) if x.startswith("intent fired:")]
    assert fired == SCRIPTED_INTENTS
    lines = [x for _t, x in transcript_lines(tmp_path)]
    i = lines.index('person: "pause please"')
    assert "coach cut off mid-sentence" in lines[i : i + 10]
    times = [t for t, _x in transcript_lines(tmp_path)]
    assert times == sorted(times)


def test_text_mode_gates_a_line_on_what_the_coach_said_while_it_was_spoken(
    tmp_path: Path,
) -> None:
    """No model: a cue that starts before the listener would be sure the person has finished
    makes "repeat that" a command over the coach's voice, gated as the listener gates it: not a
    barge-in, so acted on once the coach has finished."""
    from voicecoach.clock import FakeClock
    from voicecoach.demo import Line, Person, Scheduler, Timeline, Transcript
    from voicecoach.hearing.grammar import load_grammar
    from voicecoach.speaking.echo_reference import EchoReference

    clock, scheduler, reference = FakeClock(10.0), Scheduler(), EchoReference()
    timeline = Timeline()
    posted: list[object] = []
    transcript = Transcript(tmp_path / "transcript.txt", clock, None)
    person = Person(
        [Line("repeat that", 0.0, after_cue="setup")],
        clock,
        scheduler,
        timeline,
        posted.append,
        transcript,
        tmp_path,
        reference,
        grammar=load_grammar(),
    )
    person.cue_finished(Cue("setup"), 10.0, interrupted=False)
    scheduler.run_due(10.0)  # the person starts speaking; the coach is quiet
    assert person.said == ["repeat that"]
    line = timeline.segments[-1]
    ends = line.start + len(line.samples) / 16_000
    # A reminder starting just after the words, before the end-of-speech detector is sure.
    reference.started(ends + 0.1, np.full(8000, 3000, np.int16), 16_000)
    clock.set(20.0)
    scheduler.run_due(20.0)
    transcript.close()
    assert [(e.intent.name, e.after_speech) for e in posted] == [("repeat", True)]  # type: ignore[attr-defined]
    assert "acted on once it has finished" in (tmp_path / "transcript.txt").read_text()


def test_espeak_failing_on_the_persons_line_is_one_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    from voicecoach.demo import synthesize_person
    from voicecoach.errors import VoicecoachError

    broken = tmp_path / "espeak-ng"
    broken.write_text("#!/bin/sh\necho 'espeak-ng: no voice data' >&2\nexit 1\n")
    broken.chmod(0o755)
    monkeypatch.setattr(shutil, "which", lambda _name: str(broken))
    with pytest.raises(VoicecoachError, match="no voice data"):
        synthesize_person("pause", tmp_path)
