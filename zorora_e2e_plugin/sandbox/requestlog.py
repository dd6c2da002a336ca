"""The request log a presenter shows beside a run (`--log-requests`): one line per API request.

    07:31:02.114  POST   200    48 ms  /promote                                zorora-validation-bot

Time (local, to the millisecond, when the answer went out), method, status, milliseconds, path (the
`/prod/api/v1` stage prefix dropped; a test customer id shown as `{C}`, the next one as `{C2}`, each named
once on a `#` line; long query values cut), and the actor the Lambda would record (the body's `actor`, else
`X-Actor`; `-` when none). Never the token: of the headers and the body only those two are read, and the
sandbox's token is blotted out of whatever a client put in the path, the query or the actor. Control
characters are shown as escapes. Plain text, no colour: for a file, a pipe or the run's console alike.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterable
from typing import TextIO
from urllib.parse import parse_qsl, quote, quote_plus, unquote

API_PREFIX = "/prod/api/v1"
TEST_ID = re.compile(r"zorora-e2e-test-[A-Za-z0-9._-]*[A-Za-z0-9]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
VALUE_LIMIT = 28
PATH_WIDTH = 38


def _printable(text: str) -> str:
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def _cut(text: str, limit: int = VALUE_LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


class RequestLogFormat:
    """Turns the sandbox's RequestRecords into lines (thread-safe; remembers which customer is `{C}`)."""

    def __init__(self, secrets: Iterable[str] = (), kinds: Iterable[str] = ("api",)):
        self.secrets = [s for s in secrets if s]
        self.kinds = tuple(kinds)
        self._names: dict[str, str] = {}
        self._lock = threading.Lock()

    def lines(self, record) -> list[str]:
        """The line for `record` (none for a kind not logged), after a `#` line naming a new test customer."""
        if record.kind not in self.kinds:
            return []
        out: list[str] = []
        with self._lock:  # the token goes before anything is decoded or cut: a cut token would slip past
            path = self._ids(self._blot(self._path(self._blot(record.path))), out)
            query = self._query(self._blot(getattr(record, "query", "")), out)
        at = (getattr(record, "at", 0.0) or time.time()) + record.duration  # when it ended: lines come in order
        stamp = time.strftime("%H:%M:%S", time.localtime(at)) + f".{int(at * 1000) % 1000:03d}"
        target = path + (f"?{query}" if query else "")
        ms = int(round(record.duration * 1000))
        actor = _cut(self._blot(_printable(getattr(record, "actor", "") or "-")), 40)
        line = f"{stamp}  {record.method:<6} {record.status:>3} {ms:>5} ms  {target:<{PATH_WIDTH}}  {actor}"
        out.append(line)
        return [self._blot(_printable(text)) for text in out]

    @staticmethod
    def _path(path: str) -> str:
        if path == API_PREFIX or path.startswith(API_PREFIX + "/"):
            path = path[len(API_PREFIX) :] or "/"
        return unquote(path)

    def _query(self, query: str, out: list[str]) -> str:
        if not query:
            return ""
        pairs = parse_qsl(query, keep_blank_values=True)
        if not pairs:
            return _cut(self._ids(query, out))
        return "&".join(f"{_cut(self._blot(k), 16)}={_cut(self._ids(self._blot(v), out))}" for k, v in pairs)

    def _ids(self, text: str, out: list[str]) -> str:
        def name(match) -> str:
            found = match.group()
            if found not in self._names:
                self._names[found] = "{C}" if not self._names else f"{{C{len(self._names) + 1}}}"
                out.append(f"# {self._names[found]} = {found}")
            return self._names[found]

        return TEST_ID.sub(name, text)

    def _blot(self, text: str) -> str:
        for secret in self.secrets:
            for form in {secret, quote(secret, safe=""), quote_plus(secret), _printable(secret)}:
                text = text.replace(form, "***")
        return text


class RequestLogPrinter:
    """Writes each record's lines to `out` as requests end (`zorora-e2e sandbox --log-requests`)."""

    def __init__(self, out: TextIO, secrets: Iterable[str] = (), header: str | None = None):
        self.out = out
        self.format = RequestLogFormat(secrets)
        self.lock = threading.Lock()  # held while a line is written (and while serve_forever prints its exports)
        self.header = header

    def __call__(self, record) -> None:
        lines = self.format.lines(record)
        if not lines:
            return
        with self.lock:
            if self.header:
                lines.insert(0, self.header)
                self.header = None
            try:
                self.out.write("".join(line + "\n" for line in lines))
                self.out.flush()
            except (OSError, ValueError):  # the reader went away: the sandbox goes on serving
                pass


HEADER = f"# {'time':<10}  {'method':<6} {'st':>3} {'ms':>8}  {'path':<{PATH_WIDTH}}  actor"
