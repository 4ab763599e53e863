"""`voicecoach demo`: a scenario (`scenario`) goes in; the real session, dialog, speaker and
listener run on a virtual clock with virtual sound (`virtual`) while a scripted person
(`person`) speaks its lines; out come session.wav, transcript.txt (`transcript`) and the demo's
own history. `run.run_demo` wires it together."""

from voicecoach.demo.person import (
    ECHO_GAIN,
    PERSON_VOICE,
    TEXT_MODE_NOTE,
    Person,
    synthesize_person,
)
from voicecoach.demo.run import DEFAULT_SPEED, run_demo, set_aside_previous, summary_dict
from voicecoach.demo.scenario import (
    BUILTIN_SCENARIO,
    EVENT_KINDS,
    MAX_SAMPLE_CHARS,
    Line,
    load_scenario,
)
from voicecoach.demo.transcript import Transcript, output_error, stamp
from voicecoach.demo.virtual import (
    MAX_GAP_S,
    Scheduler,
    Segment,
    Timeline,
    VirtualOutput,
    VirtualWaiter,
)
from voicecoach.hearing.audio import SAMPLE_RATE

__all__ = [
    "BUILTIN_SCENARIO",
    "DEFAULT_SPEED",
    "ECHO_GAIN",
    "EVENT_KINDS",
    "MAX_GAP_S",
    "MAX_SAMPLE_CHARS",
    "PERSON_VOICE",
    "SAMPLE_RATE",
    "TEXT_MODE_NOTE",
    "Line",
    "Person",
    "Scheduler",
    "Segment",
    "Timeline",
    "Transcript",
    "VirtualOutput",
    "VirtualWaiter",
    "load_scenario",
    "output_error",
    "run_demo",
    "set_aside_previous",
    "stamp",
    "summary_dict",
    "synthesize_person",
]
