"""`voicecoach demo`: a whole session through the real code path, on a machine with no microphone
or speakers.

The real Session, Dialog, grammar, history store, Speaker and pyttsx3 renderer run unchanged; two
edges are replaced. The speaker plays into a virtual timeline instead of a sound card, and the
clock is virtual: when nothing is queued it jumps to the next deadline, the end of the sentence
being played or the person's next scripted line (paced at `speed` session seconds per real
second, so a 10-minute hold passes in seconds). The person's lines are synthesized with espeak-ng
at scripted moments; with a Vosk model they are mixed with the coach's voice and heard by the real
listener, without one they are matched as text by the real grammar (and the transcript says so).
"""

from __future__ import annotations

import dataclasses
import json
import os
import queue
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from voicecoach.app import _Ending, exercise_names, what_was_saved
from voicecoach.clock import FakeClock
from voicecoach.demo.person import ECHO_GAIN, TEXT_MODE_NOTE, Person
from voicecoach.demo.scenario import BUILTIN_SCENARIO, Line, load_scenario
from voicecoach.demo.transcript import Transcript, output_error
from voicecoach.demo.virtual import MAX_GAP_S, Scheduler, Timeline, VirtualOutput, VirtualWaiter
from voicecoach.errors import VoicecoachError
from voicecoach.hearing.listener import (
    Heard,
    Listener,
)
from voicecoach.loop import Loop
from voicecoach.messages import (
    Cue,
    IntentHeard,
    SessionEvent,
    SessionInput,
    SpeechFinished,
)
from voicecoach.paths import unused_beside
from voicecoach.scratch import clean_stale, scratch_dir

DEFAULT_SPEED = 200.0
"""Session seconds per real second: the 10-minute constructive rest passes in three seconds."""


class _Observer:
    """Writes what the loop does to the transcript and tells the person when the coach is done."""

    def __init__(self, transcript: Transcript, person: Person) -> None:
        self._t = transcript
        self._person = person

    def on_cue(self, cue: Cue, text: str, now: float) -> None:
        self._t.line(f"coach ({cue.prompt_key}): {text}")

    def on_input(self, event: SessionInput, before: str, after: str, cues: list[Cue]) -> None:
        # At the session time the input took effect, the time its session events carry (an
        # intent's is when its words ended, a moment before the detector was sure of it).
        if isinstance(event, IntentHeard):
            self._t.line(
                f"intent fired: {event.intent.name} {dict(event.intent.slots)}", at=event.now
            )
        if isinstance(event, SpeechFinished) and event.interrupted:
            self._t.line("coach cut off mid-sentence", at=event.now)
        if before != after:
            self._t.line(f"state: {before} -> {after}", at=event.now)
        if isinstance(event, SpeechFinished):
            self._person.cue_finished(event.cue, event.now, event.interrupted)

    def session_event(self, event: SessionEvent) -> None:
        parts = [f"event: {event.kind.replace('_', ' ')} ({event.kind})"]
        parts += [f"{k}={v}" for k, v in (("exercise", event.exercise), ("side", event.side)) if v]
        parts += [f"{k}={_short(v)}" for k, v in event.data.items()]
        self._t.line(" ".join(parts), at=event.at)
        self._person.session_event(event)


def _short(value: object) -> str:
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def summary_dict(summary: Any) -> dict[str, Any]:
    data = dataclasses.asdict(summary)
    data["results"] = [dict(r) for r in data["results"]]
    return data


def set_aside_previous(history_path: Path) -> Path | None:
    """Move the demo history of an earlier run (with its -wal and -shm) to
    `<name>.previous-<time>` beside it; None when there is none. A demo still running with the
    same DIR keeps its history, and this one is refused in one line."""
    from voicecoach.history.files import _lock_held_elsewhere, lock_path

    if not history_path.exists():
        return None
    if _lock_held_elsewhere(lock_path(history_path)):
        raise VoicecoachError(
            f"another voicecoach demo is running with --out {history_path.parent}; "
            "give another directory"
        )
    target = unused_beside(history_path, "previous", time.strftime("%Y%m%dT%H%M%S"))
    try:
        # The log first: a copy of the main file without its log would lose the last events.
        for suffix in ("-wal", "-shm"):
            sidecar = history_path.with_name(history_path.name + suffix)
            if sidecar.exists():
                os.replace(sidecar, target.with_name(target.name + suffix))
        os.replace(history_path, target)
    except OSError as exc:
        raise VoicecoachError(
            f"cannot set the last demo's history {history_path} aside: {exc.strerror or exc}"
        ) from None
    return target


def _ended_by_signal(
    ending: Any,
    session: Any,
    library: Any,
    loop: Loop,
    transcript: Transcript,
    history_path: Path,
    saved: str | None,
    echo: TextIO | None,
) -> int:
    """What `start` does when a signal ends it: what was done so far, and where it is kept."""
    from voicecoach.app import summary_so_far

    why = f"ended by {ending.signal_name}"
    transcript.line(f"the session was {why}")
    so_far = summary_so_far(session, loop.dialog, library)
    if echo is not None:
        print(f"\nSummary so far: {so_far}" if so_far else "No session was started.", file=echo)
    kept = saved or f"the demo's session is saved as interrupted in {history_path}"
    print(f"voicecoach: {why}; {kept}", file=sys.stderr)
    return int(ending.exit_code)


def _try_engine(engine: str, model: Path | None, grammar: Any) -> tuple[Any, str]:
    """(the engine that hears the person, or None; what it is, or why there is none)."""
    from voicecoach.hearing.asr import AUTO, choose_engine, open_engine

    try:
        choice = choose_engine(engine, model)
        return open_engine(choice, grammar), choice.describe()
    except VoicecoachError as exc:
        if model is not None or engine != AUTO:
            raise
        return None, str(exc)


def run_demo(
    out_dir: Path = Path("out/demo"),
    model: Path | None = None,
    *,
    engine: str = "auto",
    speed: float = DEFAULT_SPEED,
    echo: TextIO | None = sys.stdout,
    script: tuple[Line, ...] | None = None,
) -> int:
    """Run the scripted session; write session.wav, transcript.txt and the demo's own
    history.sqlite3 into `out_dir`; print the summary."""
    from voicecoach.dialog import Dialog
    from voicecoach.hearing.grammar import load_grammar
    from voicecoach.history import HistoryStore
    from voicecoach.routines import RoutineLibrary
    from voicecoach.session import Session
    from voicecoach.speaking.render import Pyttsx3Renderer
    from voicecoach.speaking.speaker import Speaker

    started = time.monotonic()
    clean_stale()  # what killed runs left in the temporary directory
    if script is None:
        script = load_scenario(BUILTIN_SCENARIO)
    clock = FakeClock(0.0)
    scheduler = Scheduler()
    timeline = Timeline()
    events: queue.Queue[SessionInput] = queue.Queue()
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        transcript = Transcript(out_dir / "transcript.txt", clock, echo)
    except OSError as exc:
        raise VoicecoachError(
            f"cannot write the demo's output to {out_dir}: {exc.strerror}; pass --out DIR"
        ) from exc
    renderer: Pyttsx3Renderer | None = None
    try:
        library = RoutineLibrary.load()
        grammar = load_grammar(routine_names=library.spoken_names())
        recognizer, engine_line = _try_engine(engine, model, grammar)

        renderer = Pyttsx3Renderer()
        speaker = Speaker(
            renderer,
            VirtualOutput(clock, scheduler, timeline),
            events.put,
            clock,
            show_text=lambda text: transcript.line(
                f"coach (printed, speech engine failed): {text}"
            ),
        )
        listener: Listener | None = None
        transcript.note(
            "voicecoach demo: session time [mm:ss.mmm] on a virtual clock; "
            "who said what, the intents fired, state changes and session events. A command's lines "
            "carry when its words ended, the session time it takes effect; the coach answers once "
            "the end of speech is detected, a moment later"
        )
        if recognizer is not None:

            def heard(h: Heard) -> None:
                u = h.utterance
                text = f'"{u.text}" ({u.confidence:.2f})' if u else "(nothing recognized)"
                decision = h.decision
                verdict = (
                    "accepted" if decision.accept and not decision.after_speech else decision.reason
                )
                by = u.engine if u and u.engine else recognizer.name
                transcript.line(f"heard by {by}: {text} -> {verdict}", at=h.segment.end)

            listener = Listener(
                recognizer,
                events.put,
                reference=speaker.reference,
                on_heard=heard,
                complete=lambda text: grammar.match(text) is not None,
            )
            # The listener only hears the stretches around the person's lines; in a live session it
            # learns the room's echo level during the coach's first sentence. Give it that level.
            listener.detector.prime_echo_gain(ECHO_GAIN)
            transcript.note(f"{engine_line}; the person is heard by the real listener")
        else:
            transcript.note(
                "No speech engine could be loaded: the person's lines are matched as text by the "
                f"real grammar instead of being heard, and marked {TEXT_MODE_NOTE}."
            )
            transcript.note(f"why: {engine_line}", echo=False)

        # The demo's sessions are not the person's: they go to a history of their own in DIR,
        # a fresh one each run, so a demo killed last time neither offers itself for resuming
        # nor changes today's counts. The last run's is kept beside it.
        history_path = out_dir / "history.sqlite3"
        kept = set_aside_previous(history_path)
        if kept is not None:
            transcript.note(
                f"the demo starts from a fresh history; the last run's is kept as {kept.name}"
            )
        with (
            scratch_dir("demo") as tmp,
            HistoryStore.open(history_path) as history,
            _Ending() as ending,
        ):
            person = Person(
                list(script),
                clock,
                scheduler,
                timeline,
                events.put,
                transcript,
                Path(tmp),
                speaker.reference,
                listener=listener,
                grammar=grammar,
                coach_speaking=lambda: speaker.speaking,
            )
            person.arm_timed()
            observer = _Observer(transcript, person)

            def cannot_save(exc: VoicecoachError) -> None:
                transcript.line(f"history: {exc}")

            recorder = history.recorder(on_failure=cannot_save)

            def on_event(event: SessionEvent) -> None:
                recorder(event)
                observer.session_event(event)

            session = Session(
                library,
                progress=history.progress(),
                resumable=history.interrupted(exercise_names(library)),
                on_event=on_event,
            )
            waiter = VirtualWaiter(events, clock, scheduler, speed)
            waiter.interrupted = lambda: ending.signal_name is not None
            loop = Loop(session, Dialog(), speaker, waiter, clock, observer=observer)

            class _Stuck:
                def next_event(self, deadline: float | None) -> SessionInput | None:
                    event = waiter.next_event(deadline)
                    if waiter.idle:
                        loop.stop()
                    return event

            loop.waiter = _Stuck()
            ending.loop = loop  # SIGINT, SIGTERM, SIGHUP: cut short, saved as interrupted
            try:
                loop.run()
                # Let the summary be spoken to its end.
                if ending.signal_name is None:
                    waiter.drain(loop, until=lambda: not speaker.speaking)
            finally:
                ending.loop = None
            saved = what_was_saved(history, exercise_names(library))

        if ending.signal_name is not None and not session.finished:
            return _ended_by_signal(
                ending, session, library, loop, transcript, history_path, saved, echo
            )
        # A line whose moment never came is a scenario that did not run as written: each is
        # named, and the exit status says so (they were passed over in silence).
        unsaid = list(person.script)
        for line in unsaid:
            note = f"never said: {line.where}: {line.text!r}, {line.waits_for()}"
            transcript.note(note, echo=False)
        summary = session.summary
        if summary is None:
            transcript.line(f"the session did not finish (state {session.state})")
            raise VoicecoachError(
                f"demo session stuck in state {session.state!r}; see {out_dir / 'transcript.txt'}"
            )
        transcript.line(f"summary: {loop.summary_text}")
        transcript.line(f"summary data: {json.dumps(summary_dict(summary), sort_keys=True)}")
        try:
            wav_s = timeline.write(out_dir / "session.wav")
        except OSError as exc:
            raise output_error(out_dir / "session.wav", exc) from None
        transcript.note(
            f"session.wav: {wav_s:.1f} s (silences over {MAX_GAP_S} s shortened); "
            f"{clock.now() / 60:.1f} min of session time in {time.monotonic() - started:.1f} s"
        )
        if echo is not None:
            print(f"\nSummary: {loop.summary_text}", file=echo)
            print(f"Wrote {out_dir / 'session.wav'} and {out_dir / 'transcript.txt'}", file=echo)
        if saved is not None:
            transcript.note(f"history: {saved}", echo=False)
            print(f"voicecoach: {saved}", file=sys.stderr)
        for line in unsaid:
            print(
                f"voicecoach: {line.where or 'scenario'}: never said: {line.text!r} waited "
                f"{line.waits_for()}, which did not come before the session ended",
                file=sys.stderr,
            )
        return 1 if unsaid else 0
    finally:
        # Also when the session fails: the engine thread stops, its temp dir goes, and the
        # transcript keeps what happened up to the failure.
        if renderer is not None:
            renderer.close()
        transcript.close()
