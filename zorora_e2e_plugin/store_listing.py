"""How the Store lists: bounded paging (a page that says IsTruncated without a way on, or a token that comes
back, ends the listing with a StoreError instead of looping), every key checked against the prefix asked
for (an endpoint that ignores `prefix` hands back other customers' keys: they are set aside as strays,
never returned), object versions and delete markers, and S3's own clock (the Date header of its answers).
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from typing import Callable, Dict, Iterator, List, Optional

MAX_PAGES = 2000  # 2 million keys under one prefix: far beyond anything a run or a sweep lists


class ListingError(Exception):
    """A listing that cannot be completed (the Store turns it into a StoreError with its code)."""

    def __init__(self, message: str, code: str = "ListingIncomplete"):
        super().__init__(message)
        self.code = code


class Listings:
    """Bookkeeping shared by a Store's listings (thread-safe): strays and S3's clock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.strays: List[str] = []  # keys a listing returned outside the prefix asked for (never used)
        self._date: Optional[datetime] = None
        self._date_seen = 0.0

    def stray(self, key: str) -> None:
        with self._lock:
            if len(self.strays) < 1000 and key not in self.strays:
                self.strays.append(key)

    def saw(self, answer: Dict) -> None:
        """Remember the Date header of an answer: S3's clock, not this machine's."""
        text = ((answer.get("ResponseMetadata") or {}).get("HTTPHeaders") or {}).get("date")
        if not text:
            return
        try:
            moment = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
        with self._lock:
            self._date, self._date_seen = moment, time.monotonic()

    def server_now(self) -> Optional[datetime]:
        """S3's time now (its last Date header plus the time since), None before any answer carried one."""
        with self._lock:
            if self._date is None:
                return None
            return self._date + timedelta(seconds=time.monotonic() - self._date_seen)


def pages(call: Callable[..., Dict], method: str, first: Dict, way_on: Callable[[Dict], Optional[Dict]],
          seen: Listings) -> Iterator[Dict]:
    """The pages of one listing, at most MAX_PAGES. `way_on(page)`: the arguments of the next request (None:
    the page gave none)."""
    kwargs = dict(first)
    tokens = set()
    for _ in range(MAX_PAGES):
        page = call(method, **kwargs)
        seen.saw(page)
        yield page
        if not page.get("IsTruncated"):
            return
        more = way_on(page)
        if not more:
            raise ListingError(f"S3 said a {method} page was truncated but gave no continuation token: the listing "
                               "cannot go on (an S3-compatible store with broken paging)", "TruncatedWithoutToken")
        token = tuple(sorted((k, str(v)) for k, v in more.items()))
        if token in tokens:
            raise ListingError(f"S3 gave the same continuation token twice in {method}: the listing would never end",
                               "RepeatedContinuationToken")
        tokens.add(token)
        kwargs = {**first, **more}
    raise ListingError(f"{method} ended after {MAX_PAGES} pages without reaching the end of the prefix", "TooManyPages")


def objects(call, prefix: str, seen: Listings) -> List[Dict]:
    """Every object under `prefix`: dicts with Key, LastModified, Size. Keys outside it are strays."""
    found: List[Dict] = []

    def way_on(page: Dict) -> Optional[Dict]:
        token = page.get("NextContinuationToken")
        return {"ContinuationToken": token} if token else None

    for page in pages(call, "list_objects_v2", {"Prefix": prefix}, way_on, seen):
        for obj in page.get("Contents") or []:
            key = obj.get("Key")
            if isinstance(key, str) and key.startswith(prefix):
                found.append(obj)
            elif isinstance(key, str):
                seen.stray(key)
    return found


def versions(call, prefix: str, seen: Listings) -> List[Dict]:
    """Every version and delete marker under `prefix`: dicts with Key, VersionId, LastModified, IsLatest and
    DeleteMarker (True for a marker). Keys outside the prefix are strays."""
    found: List[Dict] = []

    def way_on(page: Dict) -> Optional[Dict]:
        key, version = page.get("NextKeyMarker"), page.get("NextVersionIdMarker")
        if not key:
            return None
        return {"KeyMarker": key, **({"VersionIdMarker": version} if version else {})}

    for page in pages(call, "list_object_versions", {"Prefix": prefix}, way_on, seen):
        for kind, marker in (("Versions", False), ("DeleteMarkers", True)):
            for entry in page.get(kind) or []:
                key = entry.get("Key")
                if isinstance(key, str) and key.startswith(prefix):
                    found.append({**entry, "DeleteMarker": marker})
                elif isinstance(key, str):
                    seen.stray(key)
    return found
