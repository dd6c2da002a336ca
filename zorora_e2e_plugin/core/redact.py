"""One redaction for every text a run shows or writes, and one neutraliser for the characters a terminal or
an XML parser must never receive.

A secret reaches text in more shapes than its raw value: a server that echoes the Authorization header
answers with it JSON-escaped (`\\"`, `\\\\`, `\\u00e9`), an exception quotes it with `repr` (`'T\\r'`), a URL
carries it percent-encoded, a wrapped or cut line shows a piece of it. `make_redactor` removes all of those:
every form below, and every piece of `MIN_FRAGMENT` characters or more of any of them.

A value shorter than `MIN_FRAGMENT` (`AWS_SECRET_ACCESS_KEY=test`, a common local default) is too short to be
told from ordinary text: it is redacted only where it stands alone (`Bearer test`, `"test"`), never inside a
longer word or id (`latest_model.json`, `zorora-e2e-test-...`). And the run's own ids (`keep`: its customer
id, bucket) are never redacted, so that a printed command (`sweep --customer-id ...`) is always usable.
"""

from __future__ import annotations

import base64
import html
import json
import re
from collections.abc import Iterable
from typing import Callable
from urllib.parse import quote, quote_plus

MIN_SECRET = 4  # shorter values cannot be told from ordinary text
MIN_FRAGMENT = 8  # any piece this long of a secret (or of one of its forms) is redacted too; a shorter secret
# only where it stands alone: not touching a letter, digit, '_' or '-' (the characters of words and ids)
_WORD = "A-Za-z0-9_-"
MASK = "***"

# C0 controls except tab and newline, DEL, C1 controls (U+0080-U+009F: U+009B is an 8-bit CSI that drives
# some terminals), and lone surrogates (cannot be encoded as UTF-8: printing one would crash the run).
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


def neutralise(text: str) -> str:
    """Control characters and lone surrogates as visible escapes (`\\x1b`, `\\x9b`, `\\ud800`)."""

    def escape(match) -> str:
        code = ord(match.group())
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"

    return _CONTROL.sub(escape, text)


def _percent(secret: str, encoding: str, safe: str) -> list[str]:
    try:
        upper = quote(secret, safe=safe, encoding=encoding)
    except UnicodeEncodeError:
        return []
    return [upper, re.sub(r"%[0-9A-F]{2}", lambda m: m.group().lower(), upper)]


def forms_of(secret: str) -> set[str]:
    """Every way `secret` may be written in a text: raw, JSON-escaped (ASCII-only or not, and escaped twice,
    as a JSON body quoted inside another), `repr`/`ascii` of the str and of its bytes, percent-encoded
    (UTF-8 and Latin-1, upper- and lower-case hex, `+` for spaces), HTML-escaped."""
    forms = {secret}
    for ensure_ascii in (True, False):
        once = json.dumps(secret, ensure_ascii=ensure_ascii)[1:-1]
        forms.add(once)
        forms.add(json.dumps(once, ensure_ascii=ensure_ascii)[1:-1])
    forms.add(repr(secret)[1:-1])
    forms.add(ascii(secret)[1:-1])
    for encoding in ("utf-8", "latin-1"):
        try:
            raw = secret.encode(encoding)
        except UnicodeEncodeError:
            continue
        forms.add(repr(raw)[2:-1])
        forms.update(_percent(secret, encoding, ""))
        forms.update(_percent(secret, encoding, "/"))
        try:
            forms.add(quote_plus(secret, encoding=encoding))
        except UnicodeEncodeError:
            pass
        forms.add(base64.b64encode(raw).decode("ascii"))
    forms.add(html.escape(secret))
    return {f for f in forms if len(f) >= MIN_SECRET}


def make_redactor(secrets: Iterable[str], keep: Iterable[str] = ()) -> Callable[[str], str]:
    """A function that removes every form of every secret (and any long piece of one) from a text, then
    neutralises control characters (escape sequences, NULs, C1 controls) that a server body may carry: they
    would drive the user's terminal and break the JUnit XML. A form shorter than MIN_FRAGMENT is removed only
    where it stands alone; the texts in `keep` (the run's own ids) are left whole."""
    forms: set[str] = set()
    for secret in secrets:
        if secret and len(secret) >= MIN_SECRET:
            forms |= forms_of(str(secret))
    whole = sorted((f for f in forms if len(f) >= MIN_FRAGMENT), key=len, reverse=True)
    short = sorted((f for f in forms if len(f) < MIN_FRAGMENT), key=len, reverse=True)
    pieces: list[str] = []
    for form in whole:  # every MIN_FRAGMENT-long window, in order, so a long piece goes window by window
        if len(form) > MIN_FRAGMENT:
            pieces += [form[i : i + MIN_FRAGMENT] for i in range(len(form) - MIN_FRAGMENT + 1)]
    pieces = list(dict.fromkeys(pieces))
    alphabet = {c for form in whole for c in form}
    # a secret only ever sits inside a run of characters it is made of: only such runs need looking at
    runs = (
        re.compile("[" + "".join(re.escape(c) for c in sorted(alphabet)) + "]{" + str(MIN_FRAGMENT) + ",}")
        if alphabet
        else None
    )
    alone = (
        re.compile("(?<![{}])(?:{})(?![{}])".format(_WORD, "|".join(re.escape(f) for f in short), _WORD))
        if short
        else None
    )
    kept = sorted({k for k in keep if k}, key=len, reverse=True)
    spans = re.compile("|".join(re.escape(k) for k in kept)) if kept else None

    def scrub(match) -> str:
        run = match.group()
        for form in whole:
            if form in run:
                run = run.replace(form, MASK)
        for piece in pieces:
            if piece in run:
                run = run.replace(piece, MASK)
        return run

    def scrub_all(text: str) -> str:
        if runs is not None:
            text = runs.sub(scrub, text)
        if alone is not None:
            text = alone.sub(MASK, text)
        return text

    def redact(text: str) -> str:
        text = "" if text is None else str(text)
        if spans is None:
            return neutralise(scrub_all(text))
        out, at = [], 0
        for match in spans.finditer(text):  # the run's own ids stay whole; what lies between them is scrubbed
            out += [scrub_all(text[at : match.start()]), match.group()]
            at = match.end()
        out.append(scrub_all(text[at:]))
        return neutralise("".join(out))

    return redact


__all__ = ["MASK", "MIN_FRAGMENT", "forms_of", "make_redactor", "neutralise"]
