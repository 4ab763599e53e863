"""Text from a file, a setting or the command line, made safe to print: control and format
characters escaped, long values cut (pure; no I/O).

A routine file or a config value reaches the terminal in `routines`, the demo transcript, the
live screen and error messages. Printed raw, ESC, BEL or U+202E (right-to-left override) in it
would set the terminal's title, clear it, recolour it or reverse what follows.
"""

from __future__ import annotations

import unicodedata

UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
"""Unicode categories never printed as they are: controls (ESC, BEL, NUL, DEL, C1), formats
(U+202E and the other bidirectional overrides, zero-width characters), surrogates, private use,
unassigned, and the line and paragraph separators."""

ECHO_LIMIT = 60
"""Most characters of a value echoed back in a message."""


def unsafe_characters(text: str) -> list[str]:
    """The characters of `text` that `escape` would not print as they are (in order, once)."""
    seen: dict[str, None] = {}
    for ch in text:
        if unicodedata.category(ch) in UNSAFE_CATEGORIES:
            seen.setdefault(ch)
    return list(seen)


def escape(text: str) -> str:
    """`text` with every unsafe character written as a Python escape (\\x1b, \\u202e); a
    backslash stays as it is, so text without unsafe characters prints unchanged."""
    if not unsafe_characters(text):
        return text
    out = []
    for ch in text:
        if unicodedata.category(ch) in UNSAFE_CATEGORIES:
            code = ord(ch)
            out.append(
                f"\\x{code:02x}"
                if code < 0x100
                else f"\\u{code:04x}"
                if code < 0x10000
                else f"\\U{code:08x}"
            )
        else:
            out.append(ch)
    return "".join(out)


def brief(value: object, limit: int = ECHO_LIMIT) -> str:
    """A value to echo in a message: its repr for non-text, escaped, on one line and cut to
    `limit` characters with "..." (saying how long it was when that is far more)."""
    raw = value if isinstance(value, str) else repr(value)
    text = escape(raw)
    if len(text) <= limit:
        return text
    cut = text[: max(0, limit - 3)]
    return f"{cut}... ({len(raw)} characters)"


def quoted(value: object, limit: int = ECHO_LIMIT) -> str:
    """`brief` in single quotes, as the messages show a value someone gave."""
    return f"'{brief(value, limit)}'"
