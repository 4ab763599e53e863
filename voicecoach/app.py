"""The one place real adapters are wired together: microphone, listener, speaker, session, history.

`voicecoach start`: the microphone's frames go to the listener thread, whose intents join the
speaker's speech events on one queue that the session's loop (voicecoach.loop) takes one at a
time; the session's cues are worded by the dialog and said by the speaker. How a live session
ends (a signal, a lost microphone, a full disk) and what is printed then is here too.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from voicecoach.clock import MonotonicClock
from voicecoach.display import make_display
from voicecoach.hearing.listener import Heard
from voicecoach.loop import Loop, RealTimeWaiter, SessionLike, drive
from voicecoach.messages import (
    Cue,
    Intent,
    IntentHeard,
    SessionEvent,
    SessionInput,
)

_LOGGER = logging.getLogger(__name__)


DUCK_OVER_SPEECH = False
"""Lower the coach's voice as soon as the person talks over it (Speaker.duck, through the
listener's on_voice_over_coach), with the 0.15 s output buffer that lets the dip land within
about 170 ms. Built and tested (tests/speaking/test_speaker.py: the dip is heard in the room
when and as much as the output reports), but off: in the room tests, on a loaded machine, pain
said over the hold cue and a "stop please" after a barge-in were lost with it on, and that is
not understood yet."""


def exercise_names(library: Any) -> dict[str, str]:
    """Exercise id -> spoken name, so a resume point is offered in words ("constructive rest")."""
    return {
        ex.id: ex.name
        for routine in library.routines()
        for _part, ex in library.exercises(routine.id)
    }


def summary_so_far(session: SessionLike, dialog: Any, library: Any) -> str | None:
    """The summary of what a session cut short had done (None if it never started)."""
    from voicecoach.summary import summarize

    if not session.events:
        return None
    summary = summarize(session.events)
    known = summary.routine is not None and summary.routine in library.ids()
    names = {ex.id: ex.name for _, ex in library.exercises(summary.routine)} if known else {}
    routine = library.get(summary.routine).name if known else None
    return str(dialog.render_summary(summary, names, routine))


# --- the live session ---------------------------------------------------------------------------


ENDING_SIGNALS = ("SIGINT", "SIGTERM", "SIGHUP")
"""Signals that end a live session: cut short, saved as interrupted, no traceback."""


class _Ending:
    """Turns SIGINT/SIGTERM/SIGHUP into `loop.stop()` while the loop runs (the loop returns at
    its next turn, within DISPLAY_REFRESH_S); before it runs, or at a second signal, into
    KeyboardInterrupt, which the command line reports in one line."""

    def __init__(self, on_signal: Callable[[str], None] | None = None) -> None:
        self.loop: Loop | None = None
        self.signal_name: str | None = None
        self._on_signal = on_signal
        self._saved: dict[int, Any] = {}

    def __enter__(self) -> _Ending:
        import signal

        if threading.current_thread() is not threading.main_thread():
            return self  # signals reach the main thread only (tests call run_live elsewhere)
        for name in ENDING_SIGNALS:
            signum = getattr(signal, name, None)
            if signum is not None:
                self._saved[signum] = signal.signal(signum, self._handle)
        return self

    def _handle(self, signum: int, _frame: object) -> None:
        import signal

        name = signal.Signals(signum).name
        if self.loop is None or self.signal_name is not None:
            raise KeyboardInterrupt(name)
        self.signal_name = name
        _LOGGER.info("%s: ending the session", name)
        if self._on_signal is not None:
            self._on_signal(name)
        self.loop.stop()

    def __exit__(self, *_exc: object) -> None:
        import signal

        for signum, handler in self._saved.items():
            signal.signal(signum, handler)
        self._saved.clear()

    @property
    def exit_code(self) -> int:
        import signal

        return 128 + int(getattr(signal, self.signal_name or "SIGINT"))


RESUME_HINT = 'the session is saved as interrupted: say "resume" at the next start to go on'


def what_was_saved(history: Any, names: dict[str, str]) -> str | None:
    """After the history stopped being written (a full disk), what it does keep of the
    session, in one line; None when every event was saved. Read from what the store
    committed, never from what the session did, so it is true."""
    failure = history.write_failure
    if failure is None:
        return None
    cause = "the disk is full" if failure.disk_full else "the history could not be written"
    if history.saved_status is None:
        return f"{cause}: nothing of this session was saved"
    if history.saved_status != "running":
        return f"{cause}: the history keeps this session as {history.saved_status}"
    step = history.last_saved_step
    if step is None:
        return f"{cause}: the history keeps only the start of this session, nothing to resume"
    where = names.get(step.exercise or "", step.exercise or "its first step")
    side = f", {step.side} side" if step.side else ""
    return (
        f"{cause}: the history keeps this session up to the {where}{side}, as interrupted: "
        'say "resume" at the next start to go on from there'
    )


def run_live(
    *,
    routine: str | None = None,
    device: str | None = None,
    model: Path | None = None,
    checkins: bool = True,
    events_path: Path | None = None,
    engine: str | None = None,
) -> int:
    """`voicecoach start`: the microphone session. Returns the exit code.

    Ended by Ctrl-C, SIGTERM or SIGHUP, or by the microphone going away, the session is saved as
    interrupted (offered for resuming at the next start), what it did so far is printed, and
    the exit code is non-zero; no traceback. `engine`: --engine; None leaves it to
    config.toml's `engine`, else auto."""
    from voicecoach.eventlog import EventLog

    log = EventLog(events_path) if events_path is not None else None
    try:
        if log is not None:
            log.app("starting", pid=os.getpid(), routine=routine)
        with _Ending(
            on_signal=(lambda name: log.app("signal", signal=name)) if log is not None else None
        ) as ending:
            code = _run_live(
                routine=routine,
                device=device,
                model=model,
                checkins=checkins,
                engine=engine,
                log=log,
                ending=ending,
            )
        if log is not None:
            log.app("exit", code=code)
        return code
    finally:
        if log is not None:
            log.close()


def _run_live(
    *,
    routine: str | None,
    device: str | None,
    model: Path | None,
    checkins: bool,
    engine: str | None,
    log: Any,
    ending: _Ending,
) -> int:
    from voicecoach.config import load_config, remember_voice
    from voicecoach.dialog import Dialog
    from voicecoach.errors import VoicecoachError
    from voicecoach.hearing.asr import choose_engine, open_engine
    from voicecoach.hearing.audio import DeviceLost, check_output, open_microphone
    from voicecoach.hearing.grammar import load_grammar
    from voicecoach.hearing.listener import Listener
    from voicecoach.history import HistoryStore, HistoryWriteError
    from voicecoach.paths import data_dir
    from voicecoach.routines import RoutineLibrary
    from voicecoach.scratch import clean_stale
    from voicecoach.session import Session
    from voicecoach.shown import quoted
    from voicecoach.speaking.output import (
        GIL_FREE_OUTPUT_LATENCY_S,
        OUTPUT_LATENCY_S,
        SoundDeviceOutput,
    )
    from voicecoach.speaking.render import Pyttsx3Renderer, VoiceSettings
    from voicecoach.speaking.speaker import Speaker

    config = load_config().with_overrides(input_device=device)
    clean_stale()  # the speech directories of sessions that were killed
    library = RoutineLibrary.load()
    if routine is not None:
        # --routine takes the names the voice does ("start hips" works by voice).
        found = library.find(routine)
        if found is None:
            named = load_grammar(routine_names=library.spoken_names()).routine_named(routine)
            found = library.find(named) if named is not None else None
        if found is None:
            known = ", ".join(library.ids())
            raise VoicecoachError(f"no routine {quoted(routine)}; known routines: {known}")
        routine = found.id
    # The microphone first: with none, say so before spending seconds loading the model.
    mic = open_microphone(config.input_device)
    # And a voice: a hands-free coach that cannot speak is no use on the floor.
    try:
        output = check_output(config.output_device)
    except BaseException:
        mic.close()
        raise
    output_device = None if config.output_device is None else output.index
    clock = MonotonicClock()
    events: queue.Queue[SessionInput] = queue.Queue()
    display = make_display()
    stop_listening = threading.Event()
    listening: threading.Thread | None = None
    told_speech_failed = threading.Event()

    def speech_failed() -> None:
        # The display already shows every cue's words (Loop.say); printing each sentence again
        # would say everything twice. Say once why the coach is silent (-v logs the cause).
        if not told_speech_failed.is_set():
            told_speech_failed.set()
            display.message("coach's speech failed: its words are shown here, not spoken")

    try:
        # --model, then VOICECOACH_MODEL, then config.toml: the environment beats the file.
        choice = choose_engine(
            engine or "auto",
            model,
            config_engine=None if engine else config.engine,
            config_model=config.model,
        )
        display.message(choice.describe())
        if log is not None:
            log.app("engine", engine=choice.describe())
        grammar = load_grammar(routine_names=library.spoken_names())
        recognizer = open_engine(choice, grammar, tune_dir=data_dir() / "models")
        # Ducking needs the short buffer, and the short buffer an engine that never holds the
        # GIL; both stay off until DUCK_OVER_SPEECH is switched on.
        gil_free = DUCK_OVER_SPEECH and bool(getattr(recognizer, "decodes_without_gil", False))
        speaker = Speaker(
            Pyttsx3Renderer(),
            SoundDeviceOutput(
                clock,
                output_device,
                # A shorter buffer lets the coach's voice dip soon after the person speaks over
                # it, where no decode holds the GIL long enough to run the buffer dry.
                latency_s=GIL_FREE_OUTPUT_LATENCY_S if gil_free else OUTPUT_LATENCY_S,
            ),
            events.put,
            clock,
            settings=VoiceSettings(rate=config.rate, volume=config.volume, voice=config.voice),
            show_text=lambda _text: speech_failed(),
        )
        if log is not None:
            log.speaking = lambda: speaker.speaking
            speaker.on_gain = lambda at, gain: log.write("gain", at=at, gain=gain)

        def heard(h: Heard) -> None:
            display.heard(h)
            if log is not None:
                log.on_heard(h)

        def voice_over_coach(speaking: bool) -> None:
            speaker.duck(speaking)
            if log is not None:
                log.write("duck", ducked=speaking)

        listener = Listener(
            recognizer,
            events.put,
            reference=speaker.reference,
            on_heard=heard,
            # Only where a change of gain is heard within GIL_FREE_OUTPUT_LATENCY_S: through
            # OUTPUT_LATENCY_S's buffer it came after most commands had ended.
            on_voice_over_coach=voice_over_coach if gil_free else None,
            complete=lambda text: grammar.match(text) is not None,
        )
        lost: list[str] = []
        loop_box: list[Loop] = []

        def listen() -> None:
            first_frame = True
            try:
                for frame, t_end in mic.frames():
                    if first_frame and frame.size:
                        first_frame = False
                        if log is not None:
                            log.app("listening", device=mic.device.name, rate=mic.rate)
                    yield frame, t_end
            except DeviceLost as exc:
                lost.append(str(exc))
                if log is not None:
                    log.app("device_lost", message=str(exc))
                if loop_box:
                    loop_box[0].stop()

        # A daemon only so a wedged decoder cannot keep the process alive; it is joined below.
        thread = threading.Thread(
            target=listener.run,
            args=(listen(), stop_listening),
            name="listener",
            daemon=True,
        )
        dialog = Dialog()

        def cannot_save(exc: HistoryWriteError) -> None:
            # Once, on screen and aloud: a coach that only logged it went on as if all was kept.
            display.message(f"voicecoach: {exc}")
            speaker.say(dialog.render(Cue("history_full" if exc.disk_full else "history_failed")))

        with HistoryStore.open() as history:
            recorder = history.recorder(on_failure=cannot_save)

            def on_event(event: SessionEvent) -> None:
                recorder(event)
                if log is not None:
                    log.on_session_event(event)

            session = Session(
                library,
                checkins=checkins,
                progress=history.progress(),
                resumable=history.interrupted(exercise_names(library)),
                on_event=on_event,
            )
            loop = Loop(
                session,
                dialog,
                speaker,
                RealTimeWaiter(events, clock),
                clock,
                display=display,
                observer=log,
                on_voice_changed=lambda s: remember_voice(s.rate, s.volume),
            )
            loop_box.append(loop)
            thread.start()
            listening = thread
            first = (
                [IntentHeard(Intent("start_routine", {"routine": routine}), now=clock.now())]
                if routine
                else []
            )
            ending.loop = loop
            try:
                if drive(loop, first=first):
                    # Let the summary be heard before closing the speaker (at most half a minute).
                    deadline = clock.now() + 30.0
                    while speaker.speaking and clock.now() < deadline and not lost:
                        if ending.signal_name is not None:
                            break
                        with contextlib.suppress(queue.Empty):
                            after = events.get(timeout=0.1)
                            if log is not None:  # the summary's own end, for the events log
                                log.on_input(after, session.state, session.state, [])
            except KeyboardInterrupt:
                speaker.interrupt()
            finally:
                ending.loop = None
                stop_listening.set()
                # Returns once the cut sentence's stream is closed: at exit sounddevice tears
                # PortAudio down, and no stream of ours may still be closing on another thread.
                speaker.close()
            # Cut short: left "running" here, so closing the history marks it interrupted.
            cut_short = not session.finished
            saved = what_was_saved(history, exercise_names(library))
    finally:
        stop_listening.set()
        mic.close()
        if listening is not None:
            # The microphone's frames end within their 0.5 s timeout once it is closed; the
            # decoder must not still be running while the interpreter shuts down.
            listening.join(timeout=2.0)
            if listening.is_alive():
                _LOGGER.warning("the listener thread did not stop within 2 s")
        display.close()
    if not cut_short:
        print(f"Summary: {loop.summary_text}" if loop.summary_text else "No session was started.")
        if saved is not None:
            print(f"voicecoach: {saved}", file=sys.stderr)
        return 0
    so_far = summary_so_far(session, dialog, library)
    print(f"Summary so far: {so_far}" if so_far else "No session was started.")
    why = lost[0] if lost else f"ended by {ending.signal_name or 'SIGINT'}"
    if saved is not None:
        print(f"voicecoach: {why}; {saved}", file=sys.stderr)
    elif any(e.kind == "step_started" for e in session.events):
        print(f"voicecoach: {why}; {RESUME_HINT}", file=sys.stderr)
    else:
        print(f"voicecoach: {why}", file=sys.stderr)
    return 1 if lost else ending.exit_code
