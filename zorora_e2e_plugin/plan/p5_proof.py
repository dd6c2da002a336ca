"""What phase 5 deletes beyond a listing, and how 5.2 proves the run's prefixes empty: the keys the run knows
it wrote (HEAD each: a lagging listing may not name them), object versions and delete markers in a versioned
bucket, keys a listing returned outside the prefix asked for, objects another run wrote under the customer.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from ..core import catalogue
from ..core.outcomes import StepFailed
from ..s3.store import VERSION_REFUSALS, StoreError
from .context import Context

PREFIX_IGNORED = "the S3 endpoint ignored the prefix: nothing deleted outside the test customer"
ROUNDS = 3  # 5.2's list-delete-list rounds: a request still in flight at Ctrl-C may land after 5.1


def stray_finding(ctx: Context) -> None:
    """A listing named keys outside the prefix asked for: the endpoint ignores `prefix`. They were never used
    (nor deleted); the finding fails the step."""
    strays = ctx.store.strays
    if strays:
        raise StepFailed(
            "S3 listings name only keys under the prefix asked for",
            f"{PREFIX_IGNORED} (a listing of the customer's prefixes also named {len(strays)} other "
            f"key(s), e.g. {strays[0]})",
            catalogue.PREFIX_IGNORED,
        )


def known_keys(ctx: Context) -> set[str]:
    """The keys the run knows exist or may exist: what it wrote (or tried to), the archives it last listed,
    its probe (its claim on the customer id) while it may exist, or once written (5.2 proves it gone). Folder
    patterns (`…/*`) are not keys."""
    keys = {k for k in ctx.written if not k.endswith("*")}
    keys.update(ctx.archives.keys)
    if ctx.probe_pending or ctx.claimed:
        keys.add(ctx.world.probe_key)
    return {k for k in keys if ctx.store.in_scope(k)}


def _tag(etag: str | None) -> str:
    return str(etag or "").strip('"')


def claim_of_another(ctx: Context, key: str, etag: str | None, latest: bool = True, marker: bool = False) -> bool:
    """An object at the claim's key that this run did not write, while it is the current one: another run's claim,
    made once this run's cleanup released the customer id. Never deleted, never counted as left (without the
    run's own ETag, every object there counts as the run's)."""
    return (
        key == ctx.world.probe_key
        and latest
        and not marker
        and bool(ctx.claim_etag)
        and _tag(etag) != _tag(ctx.claim_etag)
    )


def release_claim(ctx: Context) -> None:
    """Delete the run's claim on its customer id, when it is the run's: written by it (or, when its write got no
    answer, holding its bytes). Raises StoreError."""
    key, store = ctx.world.probe_key, ctx.store
    if not ctx.claimed:  # its write got no answer: whatever is there may be another run's claim
        if store.get_bytes(key) != ctx.world.claim_body():
            ctx.probe_pending = False
            return
        ctx.claimed, ctx.claim_etag = True, store.etag_of(key, ctx.world.claim_body())
    store.delete(key)
    ctx.probe_pending = False


def foreign_keys(ctx: Context, listed: Iterable[str]) -> list[str]:
    """Listed objects only another run can have written: metrics (the API writes none) and preflight probes
    (of versions before the claim) that are not this run's. Archives, the registry and the audit log cannot tell
    runs apart."""
    w = ctx.world
    metrics = f"model_metrics/{w.customer_id}/"
    probes = f"customer_tailored/{w.customer_id}/preflight-probe-"
    return sorted(
        k
        for k in listed
        if k not in ctx.written and k != w.probe_key and (k.startswith(metrics) or k.startswith(probes))
    )


def _versioned(ctx: Context) -> bool | None:
    state = ctx.bucket_versioning()
    return None if state is None else bool(state)


def delete_versions(ctx: Context) -> tuple[int, int] | None:
    """In a versioned bucket (or one whose versioning S3 would not tell), delete every version and delete marker
    under the run's prefixes: (deleted, refused); None when the bucket keeps no versions (or they cannot be
    listed and it may not)."""
    versioned = _versioned(ctx)
    if versioned is False:
        return None
    try:
        found = ctx.store.list_many_versions(ctx.world.prefixes)
    except StoreError:
        if versioned:
            raise
        return None  # versioning unknown and versions unlistable: the plain listing's proof is all there is
    entries = [
        (v["Key"], v.get("VersionId"))
        for vs in found.values()
        for v in vs
        if _deletable(v, versioned) and not _another_runs(ctx, v)
    ]
    if not entries:
        return (0, 0) if versioned else None
    deleted, failed = ctx.store.delete_versions(entries)
    if failed and ctx.store.last_error not in VERSION_REFUSALS:
        raise StoreError(f"{len(failed)} version(s) not deleted, e.g. {failed[0]}", ctx.store.last_error)
    return deleted, len(failed)


def delete_probe_versions(ctx: Context) -> tuple[int, int] | None:
    """A run that may not delete under the customer's prefixes (its gate failed) still wrote and deleted its
    preflight probe: in a versioned bucket that left a version and a delete marker of that one key, removed
    here (that key only). None when the bucket keeps no versions, or 0.4 never reached S3."""
    if not ctx.keeps_versions() or not ctx.claimed:  # 0.4 asks it beside its probe; never wrote it: none of ours
        return None
    key = ctx.world.probe_key
    entries = [
        (v["Key"], v.get("VersionId"))
        for v in ctx.store.list_versions(key)
        if v["Key"] == key and _deletable(v, True) and not _another_runs(ctx, v)
    ]
    if not entries:
        return None
    deleted, failed = ctx.store.delete_versions(entries)
    return deleted, len(failed)


def _another_runs(ctx: Context, version: dict) -> bool:
    return claim_of_another(
        ctx,
        version.get("Key", ""),
        version.get("ETag"),
        bool(version.get("IsLatest")),
        bool(version.get("DeleteMarker")),
    )


def _deletable(version: dict, versioned: bool | None) -> bool:
    """A version to delete by its id. "null" is a real id in a versioned (or suspended) bucket (objects and
    delete markers written while versioning was off or suspended); where versioning is unknown it is only
    the current object, which the plain delete took."""
    vid = version.get("VersionId")
    return bool(vid) and (vid != "null" or bool(versioned))


def versions_text(result: tuple[int, int] | None) -> str:
    if result is None:
        return ""
    deleted, refused = result
    text = f"; {deleted} object version(s)/delete marker(s) deleted (versioned bucket)"
    return text + (f"; {refused} refused (no s3:DeleteObjectVersion)" if refused else "")


def prove(ctx: Context) -> tuple[list[str], dict[str, int]]:
    """5.2: list the prefixes and HEAD each key the run knows (a lagging listing may miss one), and in a
    versioned bucket list the versions; delete what is found and look again, ROUNDS times at most. Returns
    (keys with a current object left, {key: versions/delete markers left})."""
    store, w = ctx.store, ctx.world
    known = sorted(known_keys(ctx))
    versions_refused = False
    leftover: list[str] = []
    versions_left: dict[str, int] = {}
    for attempt in range(ROUNDS):
        calls = [lambda: store.list_many(w.prefixes)] + [(lambda k=k: store.etag(k)) for k in known]
        listing, *tags = ctx.parallel(*calls)
        present = {k for k, tag in zip(known, tags) if tag is not None and not claim_of_another(ctx, k, tag)}
        # the claim's key is judged by its HEAD alone: an object there may be another run's claim, made since
        listed = {k for ks in listing.values() for k in ks if k != w.probe_key}
        leftover = sorted(listed | present)
        ctx.cleanup.leftover = list(leftover)  # not proven deleted until a listing shows them gone
        versions_left = _versions_left(ctx)
        if not leftover and (not versions_left or versions_refused) or attempt == ROUNDS - 1:
            break
        try:
            deleted, _failed = store.delete_keys(leftover)
        except StoreError as exc:  # S3 refused the deletes again, as in 5.1: what is left is what was listed
            store.last_error = exc.code
            break
        ctx.cleanup.deleted += deleted
        if not versions_refused:
            result = delete_versions(ctx)
            versions_refused = bool(result and result[1])
    return leftover, versions_left


def _versions_left(ctx: Context) -> dict[str, int]:
    if not _versioned(ctx):
        return {}
    found = ctx.store.list_many_versions(ctx.world.prefixes)
    return dict(Counter(v["Key"] for vs in found.values() for v in vs if not _another_runs(ctx, v)))
