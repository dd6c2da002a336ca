"""How a line of the report is put on the console: on a terminal, wrapped between words at its width, each line
after the first under the text it continues (a step's details under its title, an answer under its words); only a
single token longer than the line (a URL, a key, an id) is folded. Anywhere else (CI logs, `| tee`, a file) a line
is written whole and never cut. A command meant to be copied is printed on its own line, and on a terminal narrower
than it, broken only between its shell words (a quoted reason stays whole).

Outside text (server bodies, ids, paths) comes in as rich Text, never as markup.
"""

from __future__ import annotations

import re
import shlex

from rich.cells import cell_len
from rich.text import Text

from ..core.redact import neutralise
from .terminal import line_width


def hanging(console, lead: Text | str, body: Text | str, indent: int | None = None, **options) -> None:
    """`lead` then `body`: on a terminal `body` wraps between words, its next lines `indent` in (default: under its
    first); a word that would not fit there but fits a line starts further left, on a line of its own: only a
    word longer than a line is ever folded. Anywhere else one whole line."""
    lead = lead if isinstance(lead, Text) else Text(lead)
    body = body if isinstance(body, Text) else Text(body)
    width = line_width(console)
    if width is None:  # whole
        line = Text()
        line.append_text(lead)
        line.append_text(body)
        console.print(line, soft_wrap=True, highlight=False, **options)
        return
    rows = wrap(body, width, lead.cell_len, lead.cell_len if indent is None else indent)
    for number, (at, row) in enumerate(rows or [(lead.cell_len, Text())]):
        line = Text()
        line.append_text(lead if number == 0 else Text(" " * at))
        line.append_text(row)
        console.print(line, overflow="fold", highlight=False, **options)


NARROWEST_INDENT = 2  # a word too long for its indent moves left, but never further than this
UNIT = r"(?:%|ms|s|min|h|days?|B|KiB|MiB|KB|MB)"
WORD = re.compile(rf"\S*\d {UNIT}(?=[\s,;:.)\]]|$)\S*|\S+")  # a figure stays with its unit: `17 ms`, `+6.1 %,`


def wrap(text: Text, width: int, first: int, indent: int) -> list[tuple[int, Text]]:
    """`text` as (indent, row) pairs for lines `width` wide: the first row after `first` cells, the others `indent`
    in; broken at spaces only, never between a figure and its unit. A word too long for a row at `indent` gets a
    row of its own further left (down to NARROWEST_INDENT); only a word longer than that is folded."""
    plain, rows = text.plain, []
    at, start, end = first, None, None
    for match in WORD.finditer(plain):
        if start is not None and cell_len(plain[start : match.end()]) <= width - at:
            end = match.end()
            continue
        size = cell_len(match.group())
        if start is not None or (size > width - at and first):  # a new row (also when the first word does not
            rows.append((at, text[start:end] if start is not None else Text()))  # fit after the lead: it alone)
            at = indent
        if size > width - at:  # a row of its own, further left
            at = min(at, max(NARROWEST_INDENT, width - size))
        start, end = match.start(), match.end()
        while cell_len(plain[start:end]) > width - at:  # longer than a whole line: folded
            cut = start + max(1, width - at)
            rows.append((at, text[start:cut]))
            start = cut
    if start is not None:
        rows.append((at, text[start:end]))
    return rows


def words(console, text: Text | str, indent: int = 0, **options) -> None:
    """A plain line: wrapped between words on a terminal, each next line `indent` further in than its first;
    whole anywhere else."""
    text = text if isinstance(text, Text) else Text(text)
    plain = text.plain
    lead = len(plain) - len(plain.lstrip(" "))
    hanging(console, text[:lead], text[lead:], indent=lead + indent, **options)


def command_rows(command: str, width: int | None, indent: int = 2) -> list[str]:
    """`command` as the rows to print it on: one row when it fits in `width` (None: any), else broken between its
    shell words, the rows after the first indented two more (a word longer than a row gets a row of its own)."""
    first = " " * indent
    if width is None or len(first) + len(command) <= width:
        return [first + command]
    try:
        parts = shlex.shlex(command, posix=False)
        parts.whitespace_split = True
        tokens = list(parts)
    except ValueError:  # an unbalanced quote: words as they are
        tokens = command.split()
    rows: list[str] = []
    row = first
    for token in tokens:
        if row.strip() and len(row) + 1 + len(token) > width:
            rows.append(row)
            row = first + "  " + token  # the rows after the first: two further in
        else:
            row = (row + " " + token) if row.strip() else row + token
    rows.append(row)
    return rows


def command(console, text: str, indent: int = 2, style: str = "") -> None:
    """A command to copy, on its own line(s): never broken inside a shell word."""
    width = line_width(console)
    for row in command_rows(neutralise(text), width, indent):
        if width is None:  # whole
            console.print(Text(row, style=style), soft_wrap=True, highlight=False)
        else:  # a word longer than the line is folded, nothing else is broken
            console.print(Text(row, style=style), overflow="fold", highlight=False)


__all__ = ["command", "command_rows", "hanging", "words", "wrap"]
