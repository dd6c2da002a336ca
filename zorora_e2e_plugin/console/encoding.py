"""Standard streams that cannot encode the report's symbols (`PYTHONIOENCODING=ascii`, `latin-1`,
`LC_ALL=C PYTHONUTF8=0`, a Windows console or redirected output in a legacy code page).

Such a stream raises UnicodeEncodeError on the first ✓, which the console view took for a closed pipe: the run
went on with nothing printed at all. `fit_streams()` (first thing in the CLI) gives those streams an error
handler that writes the report's symbols as ASCII (✓ +, ✗ x, ⚠ !, ⏭ -, ↔ <->, sparkline blocks as _.-:=+*#)
and anything else it cannot encode as `?`: the whole report is printed, in what the stream can carry.
A stream that can encode them (UTF-8, the usual case) is left as it is.

A standard stream closed before the process started (`zorora-e2e run >&-`, as some service managers start jobs)
is None in Python; the report then went nowhere and the end of `main` tripped over it (a traceback, exit 1
whatever the verdict). Worse, the first file or socket the run opened took its descriptor, where a write meant
for stdout would land. `fit_streams()` first opens /dev/null on such a descriptor: nothing is shown, the run's
exit is its verdict.
"""

from __future__ import annotations

import codecs
import os
import sys
import unicodedata

HANDLER = "zorora-e2e-ascii"
PROBE = "✓✗⚠⏭↔·—"  # what the report prints beyond ASCII

ASCII = {
    "✓": "+",
    "✔": "+",
    "✗": "x",
    "✘": "x",
    "⚠": "!",
    "ℹ": "i",
    "⏭": "-",
    "↔": "<->",
    "→": "->",
    "←": "<-",
    "·": "-",
    "—": "--",
    "–": "-",
    "…": "...",
    "≥": ">=",
    "≤": "<=",
    "×": "x",
    "’": "'",
    "‘": "'",
    "“": '"',
    "”": '"',
    "•": "*",
    "─": "-",
    "━": "-",
    "│": "|",
    "┃": "|",
    "⠋": "|",
    "⠙": "/",
    "⠹": "-",
    "⠸": "\\",
    "⠼": "|",
    "⠴": "/",
    "⠦": "-",
    "⠧": "\\",
    "⠇": "|",
    "⠏": "/",
    "▁": "_",
    "▂": ".",
    "▃": "-",
    "▄": ":",
    "▅": "=",
    "▆": "+",
    "▇": "*",
    "█": "#",
}


def _ascii(char: str) -> str:
    if char in ASCII:
        return ASCII[char]
    plain = unicodedata.normalize("NFKD", char).encode("ascii", "ignore").decode("ascii")
    return plain or "?"


def _replace(error: UnicodeError):
    if not isinstance(error, UnicodeEncodeError):
        raise error
    return "".join(_ascii(c) for c in error.object[error.start : error.end]), error.end


codecs.register_error(HANDLER, _replace)


def can_encode(stream, text: str = PROBE) -> bool:
    encoding = getattr(stream, "encoding", None) or "utf-8"
    try:
        text.encode(encoding)
        return True
    except (UnicodeError, LookupError):
        return False


def fit(stream) -> bool:
    """Give `stream` the ASCII fallback when it cannot encode the report's symbols. True when it was changed."""
    if stream is None or can_encode(stream) or not hasattr(stream, "reconfigure"):
        return False
    try:
        stream.reconfigure(errors=HANDLER)
    except (ValueError, OSError, LookupError, AttributeError):  # a closed or exotic stream: leave it alone
        return False
    return True


def closed_to_devnull() -> None:
    """/dev/null on each standard descriptor (0, 1, 2) that was closed when the process started, and a Python
    stream over it where Python has None. In order, so that each open takes the descriptor it fills."""
    for fd, name, mode in ((0, "stdin", "r"), (1, "stdout", "w"), (2, "stderr", "w")):
        if getattr(sys, name) is not None:
            continue
        try:
            os.fstat(fd)
        except OSError:
            try:
                opened = os.open(os.devnull, os.O_RDWR)
            except OSError:
                continue
            if opened != fd:
                os.dup2(opened, fd)
                os.close(opened)
        try:
            setattr(sys, name, open(fd, mode, encoding="utf-8", closefd=False))
        except OSError:
            pass


def fit_streams() -> None:
    closed_to_devnull()
    for stream in (sys.stdout, sys.stderr):
        fit(stream)


__all__ = ["ASCII", "HANDLER", "can_encode", "closed_to_devnull", "fit", "fit_streams"]
