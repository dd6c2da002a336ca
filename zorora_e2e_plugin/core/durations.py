"""One way to write a measured duration, everywhere a person reads one (step lines, the phase table, the
verdict, the live line, the history): "436 ms" under a second, "1.1 s" from a second on (a space before the
unit, always)."""

from __future__ import annotations


def duration_text(seconds: float) -> str:
    ms = max(0, int(round(seconds * 1000)))
    return f"{ms} ms" if ms < 1000 else f"{ms / 1000:.1f} s"


def ms_text(ms: float) -> str:
    return duration_text(ms / 1000)


__all__ = ["duration_text", "ms_text"]
