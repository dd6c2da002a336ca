"""Phase 5, always: delete what the run wrote (5.1), then prove the run's prefixes empty (5.2); what may be
left, named exactly, when S3 cannot be listed; the command that removes it.

What is deleted is the union of what a listing names and what the run knows it wrote (a lagging listing
may miss an object); in a versioned bucket, every version and delete marker of the run's keys too. The
store deletes under the customer's three prefixes only, whatever a listing says (s3/store.py).
"""

from __future__ import annotations

from ..config.settings import DEFAULT_REGION, Settings
from ..core import catalogue
from ..core.diagnosis import Diagnosis
from ..core.outcomes import StepFailed, StepSkipped
from ..s3.store import StoreError, aws_profile
from .calls import gate_writes_done
from .context import Context
from .p5_proof import (
    claim_of_another,
    delete_probe_versions,
    delete_versions,
    foreign_keys,
    known_keys,
    prove,
    release_claim,
    stray_finding,
    versions_text,
)


def step_5_1(ctx: Context) -> str:
    gate_writes_done(ctx)  # phase 4's setup writes, if still in flight, land before anything is listed
    state = ctx.cleanup
    w = ctx.world
    if ctx.settings.keep_data and ctx.owns_prefixes:
        state.kept = True
        raise StepSkipped(actual="kept (--keep-data): " + ", ".join(f"s3://{ctx.store.bucket}/{p}" for p in w.prefixes))
    if not ctx.owns_prefixes:
        # Nothing of ours beyond (maybe) the probe, the run's claim: never delete data this run did not prove it
        # owns, nor another run's claim.
        if ctx.probe_refused and not ctx.probe_pending:  # 0.4's PUT was refused: nothing was ever written
            return "nothing was written: S3 refused the preflight probe (see 0.4)"
        try:
            if ctx.probe_pending:
                release_claim(ctx)
        except StoreError as exc:
            state.leftover = [w.probe_key]
            raise _refused(ctx, "the run's claim (the preflight probe) deleted", exc) from None
        try:
            versions = delete_probe_versions(ctx)
        except StoreError as exc:
            state.leftover = [f"{w.probe_key} (noncurrent versions / delete markers)"]
            raise _refused(ctx, "the run's claim's versions deleted", exc) from None
        if versions and versions[1]:
            state.leftover = [f"{w.probe_key} (noncurrent versions / delete markers)"]
            ctx.cleanup_cause = catalogue.VERSIONS_KEPT.fill(sweep=sweep_command_for(ctx.settings))
            raise StepFailed(
                "the run's claim's versions deleted (the bucket is versioned)",
                f"{versions[1]} version(s)/delete marker(s) of {w.probe_key} refused",
                ctx.cleanup_cause,
            )
        if not ctx.strays_reported:
            stray_finding(ctx)
        what = "deleted" if ctx.claimed else "not there, or another run's (this run's write got no answer): left"
        return f"only the run's claim on the customer id (the preflight probe) could exist; {what}" + versions_text(
            versions
        )
    found, ctx.cleanup_listing = ctx.cleanup_listing, None  # 4.5's listing, when nothing was sent since
    try:
        if found is None:
            found = ctx.store.list_many(w.prefixes)
        # the claim's key only while the run's claim may be there: once released, an object there is another run's
        listed = sorted({k for ks in found.values() for k in ks if k != w.probe_key or ctx.probe_pending})
        unlisted = sorted(known_keys(ctx) - set(listed) - ({w.probe_key} if not ctx.probe_pending else set()))
        deleted, failed = ctx.store.delete_keys(listed + unlisted)
        if w.probe_key in listed + unlisted and w.probe_key not in failed:
            ctx.probe_pending = False  # released (5.2 proves it gone)
        versions = delete_versions(ctx)
    except StoreError as exc:
        state.leftover = unlisted_leftovers(ctx)
        raise _refused(ctx, "test data deleted", exc) from None
    state.deleted += min(deleted, len(listed))
    if failed:
        ctx.cleanup_cause = delete_refusal(ctx.store.last_error)
        raise StepFailed(
            "every object deleted",
            f"{len(failed)} not deleted ({ctx.store.last_error or 'no code'}): {', '.join(failed[:5])}",
            ctx.cleanup_cause,
        )
    if not ctx.strays_reported:
        stray_finding(ctx)
    foreign = foreign_keys(ctx, listed)
    if foreign:
        raise StepFailed(
            "only objects this run wrote under the customer's prefixes",
            f"{len(foreign)} object(s) this run did not write (deleted): {', '.join(foreign[:3])}",
            catalogue.COLLISION,
        )
    extra = f"; {len(unlisted)} more key(s) the run wrote, not named by the listing" if unlisted else ""
    return f"deleted {len(listed)} object(s) in {1 + len(listed + unlisted) // 1000} batch(es){extra}" + versions_text(
        versions
    )


def step_5_2(ctx: Context) -> str:
    state = ctx.cleanup
    w = ctx.world
    if state.kept:
        raise StepSkipped(actual="kept (--keep-data)")
    if not ctx.owns_prefixes:
        if not ctx.probe_pending and not state.leftover and ctx.claimed:  # proven: no object of the run's there
            try:
                tag = ctx.store.etag(w.probe_key)
            except StoreError as exc:
                state.leftover = [w.probe_key]
                raise StepFailed(
                    "the run's claim (the preflight probe) deleted",
                    f"cannot HEAD s3://{ctx.settings.bucket}/{w.probe_key}: S3 error {exc}",
                    remove_hint(ctx),
                ) from None
            ctx.probe_pending = tag is not None and not claim_of_another(ctx, w.probe_key, tag)
        if ctx.probe_pending or state.leftover:
            raise StepFailed(
                "the run's claim (the preflight probe) deleted",
                f"s3://{ctx.settings.bucket}/{w.probe_key} may be left",
                remove_hint(ctx),
            )
        return "the run's claim is gone; nothing else was written" if ctx.claimed else "nothing was written"
    try:
        leftover, versions_left = prove(ctx)
    except StoreError as exc:
        state.leftover = state.leftover or unlisted_leftovers(ctx)
        raise StepFailed(
            "the run's prefixes are empty",
            f"cannot list them: S3 error {exc}",
            remove_hint(ctx, catalogue.for_s3(exc.code, aws_profile())),
        ) from None
    state.leftover = leftover + [f"{key} (noncurrent versions / delete markers)" for key in versions_left]
    if leftover:
        refused = delete_refusal(ctx.store.last_error) if ctx.store.last_error else None
        raise StepFailed(
            "the run's prefixes are empty",
            f"{len(leftover)} object(s) left: {', '.join(leftover[:5])}",
            remove_hint(ctx, refused),
        )
    if versions_left:
        total = sum(versions_left.values())
        raise StepFailed(
            "no version of the run's objects left (the bucket is versioned)",
            f"no current object left, but {total} noncurrent version(s)/delete marker(s) of "
            f"{len(versions_left)} key(s) remain: {', '.join(list(versions_left)[:3])}",
            catalogue.VERSIONS_KEPT.fill(sweep=sweep_command_for(ctx.settings)),
        )
    proof = "customer_tailored/, model_metrics/ and audit_logs/ prefixes of the run are empty"
    if ctx.bucket_versioning():
        proof += " (no version or delete marker left: ListObjectVersions)"
    return proof


def _refused(ctx: Context, expected: str, exc: StoreError) -> StepFailed:
    """S3 refused (or never answered) a delete of the cleanup: the cause, kept for 5.2's leftovers."""
    ctx.cleanup_cause = delete_refusal(exc.code)
    return StepFailed(expected, f"S3 error {exc}", ctx.cleanup_cause)


def delete_refusal(code: str) -> Diagnosis:
    """What refused a delete, by the code S3 gave (AccessDenied: the identity may not delete there)."""
    if code in ("AccessDenied", "403", ""):
        return catalogue.DELETE_REFUSED.fill(code=code or "no code given")
    return catalogue.for_s3(code, aws_profile())


def unlisted_leftovers(ctx: Context) -> list[str]:
    """What is left when S3 cannot be listed: the keys phase 1 wrote, the probe if it may exist, and the
    archive objects the API created: by name when listed since the last promote/rollback, else the folder
    (`…/archived/*`), whose names only a listing can tell."""
    keys = set(ctx.written)
    if ctx.probe_pending:
        keys.add(ctx.world.probe_key)
    if ctx.wrote:
        if ctx.archives.stale:
            keys.add(ctx.world.archive_prefix + "*")
        else:
            keys.update(ctx.archives.keys)
    return sorted(keys)


def sweep_command_for(settings: Settings) -> str:
    """The sweep the user can type where the run came from (the CLI, or Zorora's session)."""
    region = settings.region if settings.region != DEFAULT_REGION else None
    return settings.face.sweep_command(settings.customer_id, settings.bucket, region, settings.s3_endpoint_url)


def remove_hint(ctx: Context, refused: Diagnosis | None = None) -> Diagnosis:
    """What is left, diagnosed by what kept it there: `refused` (what refused to delete it now), else what
    refused 5.1's deletes, else a late write (objects that appeared after 5.1 deleted); with the commands that
    remove it."""
    bucket = ctx.settings.bucket
    commands = "; ".join(f"aws s3 rm --recursive s3://{bucket}/{p}" for p in ctx.world.prefixes)
    cause = refused or ctx.cleanup_cause or catalogue.LATE_WRITE
    return cause.with_detail(f" — remove what is left with `{sweep_command_for(ctx.settings)}` or: {commands}")
