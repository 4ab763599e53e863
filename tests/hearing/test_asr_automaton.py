"""The grammar as a minimal word automaton: exactly the grammar's sentences, nothing else."""

from __future__ import annotations

from voicecoach.hearing.asr.automaton import minimal_automaton
from voicecoach.hearing.asr.pocketsphinx import command_sentences
from voicecoach.hearing.grammar import load_grammar


def test_small_automaton_accepts_exactly_its_sentences() -> None:
    sentences = {("skip",), ("skip", "this"), ("skip", "this", "one"), ("stop",), ("go", "back")}
    automaton = minimal_automaton(sentences)
    for s in sentences:
        assert automaton.accepts(s)
    for s in [("skip", "one"), ("this",), ("go",), ("stop", "this"), ()]:
        assert not automaton.accepts(s)
    # "skip", "stop" and "one"/"back" endings share states: fewer states than a trie.
    assert automaton.n_states < 1 + sum(len(s) for s in sentences)


def test_the_grammar_automaton_is_exactly_the_grammar() -> None:
    sentences = command_sentences(load_grammar())
    automaton = minimal_automaton(sentences)
    assert all(automaton.accepts(s) for s in sentences)
    assert not automaton.accepts(("stop", "add", "repeat"))
    assert not automaton.accepts(("add", "five"))
    assert automaton.n_states < len(sentences) // 5
