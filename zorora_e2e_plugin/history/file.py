"""The run history's file: one JSON line per run (record.py records them, view.py shows them).

Each run appends one line with a single O_APPEND write, so parallel runs never interleave or lose lines.
The file stays bounded: past ROTATE_BYTES it is renamed to PATH.1 (replacing the older one) and a new one
begins. Reading takes only the last TAIL_BYTES (from PATH.1 too when PATH is shorter), and skips, counting
them, lines that are not run records (bad JSON, or JSON with values of the wrong kind: `"kind": ["full"]`,
`"duration_s": 1e999`), so that whatever the file holds, `history` shows the rest.
"""

from __future__ import annotations

import errno
import json
import math
import os
import stat
import time
from datetime import datetime, timezone
from typing import Any

ROTATE_BYTES = 4 * 1024 * 1024  # past this the file becomes PATH.1 (~10 000 runs a file)
TAIL_BYTES = 2 * 1024 * 1024  # what `history` reads: the most recent ~5 000 runs


def append(record: dict, path: str) -> None:
    """One line, one write(2) on an O_APPEND descriptor: concurrent runs never interleave or lose a line.
    A file grown past ROTATE_BYTES is then rotated to PATH.1."""
    data = (json.dumps(record, separators=(",", ":"), sort_keys=True) + "\n").encode("utf-8")
    directory = os.path.dirname(path)
    if directory:
        os.makedirs(directory, exist_ok=True)
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):  # a named pipe, a device, a directory
            raise OSError(errno.EINVAL, "not a regular file")
    except FileNotFoundError:  # a new file (or one a parallel run has just rotated)
        pass
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NONBLOCK", 0), 0o600)
    try:  # O_NONBLOCK: ZORORA_E2E_HISTORY naming a named pipe must not block the run's end
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file")
        written = os.write(fd, data)
        if written != len(data):
            raise OSError(f"short write ({written} of {len(data)} bytes)")
        if os.fstat(fd).st_size > ROTATE_BYTES:
            _rotate(fd, path)
    finally:
        os.close(fd)


LOCK_WAIT_S = 2.0  # how long a run waits for a parallel run's rotation (it takes microseconds)


def _rotate(fd: int, path: str) -> None:
    """PATH -> PATH.1, once: under an exclusive lock on the file, and only while PATH is still the file this
    run wrote to (a parallel run that rotated it first leaves nothing to do). A run that still holds the old
    file open appends its line to PATH.1: nothing is lost.

    A run that finds the lock taken waits for it (up to LOCK_WAIT_S): had it gone on, its next appends would
    land in PATH while the holder is between its lock and its rename, and PATH would grow past the bound by as
    many lines as the parallel runs write while the holder is not scheduled."""
    try:
        import fcntl
    except ImportError:  # Windows: no lock; the inode check below still keeps a second rotation out
        fcntl = None  # type: ignore[assignment]  # None: no fcntl here, so no lock
    try:
        if fcntl is not None:
            _lock(fcntl, fd)
        mine = os.fstat(fd)
        current = os.stat(path)
        if (mine.st_dev, mine.st_ino) == (current.st_dev, current.st_ino):
            os.replace(path, path + ".1")
    except OSError:  # still locked after LOCK_WAIT_S, or gone: the next append tries again
        pass


def _lock(fcntl: Any, fd: int) -> None:
    """An exclusive lock on `fd`, waited for up to LOCK_WAIT_S (never forever: a lock held by a stuck process
    must not hang the end of a run); OSError when it is still taken."""
    deadline = time.monotonic() + LOCK_WAIT_S
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.002)


def _tail(path: str, size: int) -> tuple[bytes, bool]:
    """(the last `size` bytes of the file, whether it holds more); a cut first line is dropped."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))  # a named pipe must not block `history`
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise FileNotFoundError(errno.ENOENT, "not a regular file", path)
    with os.fdopen(fd, "rb") as handle:
        handle.seek(0, os.SEEK_END)
        length = handle.tell()
        handle.seek(max(0, length - size))
        data = handle.read(size)
    if length <= size:
        return data, False
    return data[data.find(b"\n") + 1 :] if b"\n" in data else b"", True


def read(path: str, tail_bytes: int = TAIL_BYTES) -> tuple[list[dict], list[str]]:
    """(records, notes) of the most recent runs: the last `tail_bytes` of PATH (and of PATH.1 when PATH is
    shorter). A line that is not a run record is skipped and counted in a note, never a crash."""
    try:
        current, cut = _tail(path, tail_bytes)
    except FileNotFoundError:
        current, cut = b"", False
    older = b""
    if not cut and len(current) < tail_bytes:
        try:
            older, cut = _tail(path + ".1", tail_bytes - len(current))
        except OSError:
            older = b""
    records: list[dict] = []
    bad: list[int] = []  # line numbers in PATH (when it was read whole), else 0
    for lines, numbered in ((older.split(b"\n"), False), (current.split(b"\n"), not cut and not older)):
        for number, raw in enumerate(lines, 1):
            if not raw.strip():
                continue
            record = _record(raw)
            if record is None:
                bad.append(number if numbered else 0)
            else:
                records.append(record)
    notes: list[str] = []
    if bad:
        where = [str(n) for n in bad if n][:5]
        lines_text = f" (line {', '.join(where)}{', ...' if len(bad) > len(where) else ''})" if where else ""
        notes.append(f"{len(bad)} line(s) of {path} are not run records: skipped{lines_text}")
    if cut:
        notes.append(
            f"only the most recent {len(records) + len(bad)} lines of {path} were read (older runs are not shown)"
        )
    return records, notes


def _finite(value, optional: bool = True) -> bool:
    if value is None:
        return optional
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value >= 0


_TEXT_FIELDS = ("target", "client", "kind", "verdict")


def _record(raw: bytes) -> dict | None:
    """The run record a line holds, or None when it is not one (bad JSON; fields of the wrong kind)."""
    try:
        record = json.loads(raw.decode("utf-8"))
        if not isinstance(record, dict) or not isinstance(record.get("started"), str):
            return None
        parse_time(record["started"])
    except (ValueError, UnicodeDecodeError, TypeError, RecursionError):
        return None
    if any(not isinstance(record.get(name, ""), str) for name in _TEXT_FIELDS):
        return None
    if not _finite(record.get("duration_s", 0)) or not _finite(record.get("first_request_s")):
        return None
    if not isinstance(record.get("cold_start", False), bool):
        return None
    phase_s, routes = record.get("phase_s", {}), record.get("routes", {})
    if not isinstance(phase_s, dict) or not all(_finite(v, optional=False) for v in phase_s.values()):
        return None
    if not isinstance(routes, dict) or not all(
        isinstance(f, dict) and all(_finite(f.get(k)) for k in ("count", "median_ms", "max_ms"))
        for f in routes.values()
    ):
        return None
    if not isinstance(record.get("json_report"), (str, type(None))):
        return None
    return record


def parse_time(text: str) -> datetime:
    """A record's `started` (UTC, to the second)."""
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)


__all__ = ["ROTATE_BYTES", "TAIL_BYTES", "append", "parse_time", "read"]
