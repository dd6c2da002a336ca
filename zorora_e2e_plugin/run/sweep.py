"""Find and remove test data that a killed run left behind.

Only customers named `zorora-e2e-test-*` directly under the three prefixes a run
writes to are ever considered; the match is on the whole path segment
(`customer_tailored/zorora-e2e-test-…/`), so `zorora-e2e-test` (no dash),
`zorora-e2e-testing-…` and real customers are never touched.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Callable

from ..config.checks import SettingsError
from ..config.faces import CLI, Face
from ..config.settings import CUSTOMER_ID_RE, TEST_CUSTOMER_PREFIX
from ..s3.customer_state import TOP_LEVELS
from ..s3.store import Store

if TYPE_CHECKING:  # the flags arrive parsed by the faces (config/flags.py)
    from rich.console import Console

    from ..config.flags import SweepFlags
    from ..config.settings import Storage

_AGE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
_UNITS = {"s": 1, "": 1, "m": 60, "h": 3600, "d": 86400}


def parse_age(text: str) -> timedelta:
    """'90s', '15m', '1h', '2d' (a bare number is seconds)."""
    match = _AGE_RE.match(str(text))
    if not match:
        raise SettingsError(f"--older-than must look like 30s, 15m, 1h or 2d (got {text!r})")
    try:
        return timedelta(seconds=float(match.group(1)) * _UNITS[match.group(2)])
    except OverflowError:
        raise SettingsError(f"--older-than {text!r} is too large") from None


@dataclasses.dataclass
class Leftover:
    customer_id: str
    keys: list[str]
    newest: datetime
    versions: list[tuple[str, str]] = dataclasses.field(default_factory=list)  # (key, version id): a versioned
    # bucket's versions and delete markers of the customer's keys

    def age(self, now: datetime) -> timedelta:
        return now - self.newest

    @property
    def size(self) -> str:
        extra = f" and {len(self.versions)} version(s)/delete marker(s)" if self.versions else ""
        return f"{len(self.keys)} object(s){extra}"


def _is_test_key(key: str) -> bool:
    for top in TOP_LEVELS:
        if key.startswith(top + TEST_CUSTOMER_PREFIX):
            customer, sep, _rest = key[len(top) :].partition("/")
            return bool(sep) and len(customer) > len(TEST_CUSTOMER_PREFIX)
    return False


def check_customer(customer_id: str) -> str:
    """--customer-id for a sweep: one whole test customer id, nothing else."""
    if not _is_test_key(f"{TOP_LEVELS[0]}{customer_id}/x") or not CUSTOMER_ID_RE.fullmatch(customer_id):
        raise SettingsError(
            f"--customer-id must be one test customer id starting with {TEST_CUSTOMER_PREFIX!r} "
            f"(letters, digits, '.', '_', '-'), got {customer_id!r}"
        )
    return customer_id


def prefixes_for(customer_id: str | None = None) -> list[str]:
    """What a sweep lists (and the only prefixes its store may delete under)."""
    return [top + (f"{customer_id}/" if customer_id else TEST_CUSTOMER_PREFIX) for top in TOP_LEVELS]


def find(store: Store, customer_id: str | None = None) -> dict[str, Leftover]:
    """Every test customer's objects under the three prefixes (or only `customer_id`'s), with the newest
    LastModified; in a versioned bucket their versions and delete markers too (S3 would not say whether it is
    versioned: their versions are looked for all the same, where the credentials may list them)."""
    found: dict[str, Leftover] = {}
    prefixes = prefixes_for(customer_id)
    with ThreadPoolExecutor(max_workers=len(prefixes) + 1) as pool:  # the three prefixes page at once
        versioning = pool.submit(store.versioning)
        listings = list(pool.map(store.list_objects, prefixes))
        versioned = versioning.result()
        versions = list(pool.map(lambda p: _versions(store, p, versioned), prefixes))
    for top, objects, kept in zip(TOP_LEVELS, listings, versions):
        for obj in objects:
            entry = _entry(found, top, obj)
            if entry is not None:
                entry.keys.append(obj["Key"])
        for version in kept:
            entry = _entry(found, top, version)
            if entry is not None:
                entry.versions.append((version["Key"], version["VersionId"]))
    return found


def _versions(store: Store, prefix: str, versioned: str | None) -> list[dict]:
    if versioned == "":
        return []  # never versioned: nothing beyond the objects
    try:
        found = store.list_versions(prefix)
    except Exception:
        if versioned:
            raise
        return []  # versioning unknown and versions not listable
    return [v for v in found if v.get("VersionId") and (v["VersionId"] != "null" or versioned)]  # "null": a real
    # id in a versioned or suspended bucket; elsewhere the current object, which the plain delete takes


def _entry(found: dict[str, Leftover], top: str, obj: dict) -> Leftover | None:
    key = obj["Key"]
    if not _is_test_key(key):
        return None
    customer = key[len(top) :].split("/", 1)[0]
    modified = obj["LastModified"]
    entry = found.setdefault(customer, Leftover(customer, [], modified))
    entry.newest = max(entry.newest, modified)
    return entry


def stale(
    store: Store, older_than: timedelta, now: datetime | None = None, customer_id: str | None = None
) -> list[Leftover]:
    """The test customers whose newest object is at least `older_than` old, judged by S3's clock (the Date of
    its answers), never this machine's: a machine behind S3 would find nothing old, one ahead would delete a
    running run's data. One customer named and 0s: everything it has, whatever the clocks say."""
    found = find(store, customer_id)
    if customer_id and older_than <= timedelta(0):
        return sorted(found.values(), key=lambda e: e.customer_id)
    now = now or store.server_now() or datetime.now(timezone.utc)
    return sorted((e for e in found.values() if e.age(now) >= older_than), key=lambda e: e.customer_id)


def delete(store: Store, leftovers: list[Leftover]) -> int:
    keys = [k for e in leftovers for k in e.keys]
    versions = [v for e in leftovers for v in e.versions]
    if not all(_is_test_key(k) for k in keys + [k for k, _ in versions]):  # the guard, once more
        raise RuntimeError("refusing to delete a key that is not a test customer's")
    deleted, failed = store.delete_keys(keys)
    if failed:
        raise RuntimeError(f"{len(failed)} object(s) could not be deleted, e.g. {failed[0]}")
    if versions:
        _gone, refused = store.delete_versions(versions)
        if refused:
            raise RuntimeError(
                f"the objects are deleted, but {len(refused)} version(s)/delete marker(s) could not "
                f"be ({store.last_error or 'refused'}: s3:DeleteObjectVersion), e.g. {refused[0]}; "
                "the bucket's lifecycle rule (noncurrent version expiration) removes them, or a "
                "sweep with credentials that may delete versions"
            )
    return deleted


def run_sweep(
    flags: SweepFlags, env: Mapping[str, str], *, console: Callable[[], Console], face: Face = CLI
) -> tuple[int, str]:
    """The sweep as both faces run it (`zorora-e2e sweep`, `ml-validate-e2e --sweep`): where from the flags
    (None: the environment, then the defaults), bad flags refused before anything heavy is imported, asking
    only when there is a terminal to ask on (without one, only --yes deletes). `console()` gives the console to
    print on (built while the S3 client loads). Returns (exit code, summary)."""
    from ..config.settings import resolve_storage
    from ..console.confirm import confirm
    from ..console.terminal import can_prompt
    from ..s3.store import start_client

    storage = resolve_storage(flags, env, face=face)
    parse_age(flags.older_than)
    if flags.customer_id:
        check_customer(flags.customer_id)
    start_client(storage)  # the client loads while the sweep's console is set up
    return sweep(storage, flags, console=console(), ask=confirm if can_prompt() else None, face=face)


def sweep(
    storage: Storage, what: SweepFlags, *, console: Console, ask: Callable[[str], bool] | None, face: Face = CLI
) -> tuple[int, str]:
    """List stale test data (`what`: how old, which customer), confirm, delete. Returns (exit code, a one-line
    summary). `ask` is None when there is no one to ask: then only --yes deletes."""
    from rich.text import Text

    from ..console.lines import words
    from ..core.redact import make_redactor
    from ..s3.store import StoreError

    redact = make_redactor(storage.secrets)  # e.g. user:password@ in the S3 endpoint, quoted by botocore

    def say(text: str, style: str = "") -> None:  # wrapped between words on a terminal, never cut
        words(console, Text(redact(text), style=style), indent=2)

    def s3_hint(code: str) -> str:  # in a Zorora session: no --region/--s3-endpoint-url to suggest
        from ..core.catalogue import for_s3

        return face.hint(for_s3(code))

    older_than, customer_id = what.older_than, what.customer_id
    age = parse_age(older_than)
    only = check_customer(customer_id) if customer_id else None
    store = Store.open(storage, scope=prefixes_for(only))  # it deletes under these prefixes, nowhere else
    where = f"s3://{storage.bucket}"
    try:
        leftovers = stale(store, age, customer_id=only)
    except StoreError as exc:
        say(f"Cannot list {where}: {exc} — {s3_hint(exc.code)}", "red")
        return 1, f"✗ Sweep failed: cannot list {where}."
    if not leftovers:
        say(f"No zorora-e2e-test-* data older than {older_than} in {where}.")
        return 0, f"✓ Sweep: nothing older than {older_than} in {where}."
    total = sum(len(e.keys) for e in leftovers)
    versions = sum(len(e.versions) for e in leftovers)
    also = f" (and {versions} version(s)/delete marker(s))" if versions else ""
    say(f"{len(leftovers)} test customer(s), {total} object(s){also} older than {older_than} in {where}:")
    for entry in leftovers:
        say(f"  {entry.customer_id}  {entry.size}, newest {entry.newest:%Y-%m-%d %H:%M:%S}Z")
    if what.dry_run:
        say("Dry run: nothing deleted.", "yellow")
        return 0, f"Sweep (dry run): {total} object(s) of {len(leftovers)} test customer(s) would be deleted."
    if not what.assume_yes:
        if ask is None:
            say("Not deleting without --yes (no terminal to ask on).", "yellow")
            return 1, "✗ Sweep: nothing deleted (no --yes)."
        if not ask(f"Delete these {total} object(s){also} from {where}?"):
            say("Nothing deleted.", "yellow")
            return 1, "✗ Sweep cancelled: nothing deleted."
    try:
        deleted = delete(store, leftovers)
    except (StoreError, RuntimeError) as exc:
        say(f"Delete failed: {exc} — {s3_hint(getattr(exc, 'code', ''))}", "red")
        return 1, "✗ Sweep failed while deleting (details above)."
    say(f"Deleted {deleted} object(s){also}.", "green")
    return 0, f"✓ Sweep: deleted {deleted} object(s) of {len(leftovers)} test customer(s)."
