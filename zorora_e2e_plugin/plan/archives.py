"""The archive objects (customer_tailored/{C}/archived/) as 3.1 and 3.3 judge them.

Required (the plan's S3 tree and the operational contract, both in docs/platform.md): an archive object for
the model a promotion or a rollback replaced exists, found by its key (`{model_id}_{YYYYMMDD_HHMMSS}.json`).
Its content is the sandbox's assumption (docs/platform.md): the entry's fields plus `archived_at` and
`archive_reason`. A document shaped otherwise (wrapped as {"archived_at", "archive_reason", "entry": {...}},
another reason word, not JSON) is a warning naming the assumption, never a failure.
"""

from __future__ import annotations

import json
from typing import Any, NamedTuple

from ..core import catalogue
from ..core.diagnosis import Diagnosis
from ..core.outcomes import StepFailed
from ..s3.store import StoreError
from .context import Checks, Context

CONTENT_ASSUMED = catalogue.CONTENT_ASSUMED


def names(key: str, model_id: str) -> bool:
    """The archive key names the model: .../archived/{model_id}_{timestamp}.json."""
    return f"/archived/{model_id}_" in key


def entry_of(document: Any) -> tuple[dict, bool]:
    """(the archived registry entry, wrapped?): the document itself, or the one object inside it that holds a
    model_id ({"entry": {...}}, or any other wrapper key)."""
    if not isinstance(document, dict):
        return {}, False
    if "model_id" in document:
        return document, False
    inner = [v for v in document.values() if isinstance(v, dict) and "model_id" in v]
    return (inner[0], True) if len(inner) == 1 else ({}, False)


def read_document(ctx: Context, key: str) -> Any:
    """One archive object's content: parsed JSON, else the text (its content is an assumption: a warning, not a
    failure); None when it does not exist."""
    raw = ctx.store.get_bytes(key)
    if raw is None:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", errors="replace")[:200]


def read_documents(ctx: Context, keys: list[str], known: dict[str, Any] | None = None) -> dict[str, Any]:
    """The archive objects' contents, read concurrently (one round trip); `known`: contents read already (read
    beside the listing that named them), not read again."""
    known = {k: v for k, v in (known or {}).items() if k in keys}
    missing = [k for k in keys if k not in known]
    if not missing:
        return known
    try:
        answers = ctx.parallel(*[(lambda k=k: read_document(ctx, k)) for k in missing])
    except StoreError as exc:
        raise StepFailed("the archive objects readable", f"S3 error {exc}", catalogue.for_s3(exc.code)) from None
    return {**known, **dict(zip(missing, answers))}


class Archived(NamedTuple):
    """What an archive should hold: the model a promotion or rollback replaced, and why it was archived."""

    model_id: str
    reason: str  # "superseded" (a promotion), "rolled_back" (a rollback)


def judge(
    ctx: Context,
    checks: Checks,
    keys: list[str],
    expected: Archived,
    missing_hint: Diagnosis,
    *,
    content: bool = True,
    known: dict[str, Any] | None = None,
) -> str | None:
    """The archive of `expected.model_id` (the model a promotion or rollback replaced): found by key, else by content
    (a warning: another key format), else a failure. Its content differing from the sandbox's: warnings
    (`content=False`: not read when the key names the model; one S3 round trip less; `known`: contents read
    already). Returns its key (None when there is none)."""
    model_id, reason = expected
    by_key = [k for k in keys if names(k, model_id)]
    documents = read_documents(ctx, by_key or keys, known) if content or not by_key else {}
    if not by_key:
        by_content = [k for k, doc in documents.items() if entry_of(doc)[0].get("model_id") == model_id]
        if not by_content:
            checks.that(
                False,
                f"an archive object for {model_id} (archived/{model_id}_<timestamp>.json)",
                f"none among {len(keys)} object(s) in the archive",
                missing_hint,
            )
            return None
        checks.warn(
            f"the archive key archived/{model_id}_<timestamp>.json",
            f"{model_id} is archived under another key: {by_content[-1]}",
            catalogue.ARCHIVE_KEY,
        )
        by_key = by_content
    key = by_key[-1]
    if key in documents:
        _judge_content(checks, key, documents[key], model_id, reason)
    return key


def _judge_content(checks: Checks, key: str, document: Any, model_id: str, reason: str) -> None:
    if not isinstance(document, dict):
        checks.warn(
            "the archive document is the archived entry as JSON",
            f"{key} is not a JSON object: {str(document)[:120]!r}",
            CONTENT_ASSUMED,
        )
        return
    entry, wrapped = entry_of(document)
    differences = []
    if wrapped:
        differences.append(
            "the entry is wrapped (" + ", ".join(sorted(document)) + ") instead of the document holding its fields"
        )
    if entry.get("model_id") not in (None, model_id):
        differences.append(f"its model_id is {entry.get('model_id')!r}")
    elif not entry:
        differences.append("no model_id in it")
    found = document.get("archive_reason", entry.get("archive_reason"))
    if found is None:
        differences.append("no archive_reason")
    elif found != reason:
        differences.append(f"archive_reason = {found!r} (the sandbox writes {reason!r})")
    if differences:
        checks.warn(
            f"the archive document as the sandbox writes it (archive_reason {reason!r})",
            f"{key}: " + "; ".join(differences),
            CONTENT_ASSUMED,
        )
