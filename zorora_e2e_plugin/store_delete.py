"""The one place that deletes from S3 (the Store's deleting half): every DeleteObject(s) the validator
sends goes through `Deleting.delete` or `Deleting._delete`, which refuse any key outside the store's scope
before anything is sent, whatever a listing said.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Iterable, List, Optional, Tuple

from .store_errors import StoreError

VERSION_REFUSALS = ("AccessDenied", "403", "MethodNotAllowed", "NotImplemented", "501", "405")
MAX_CONCURRENT_BATCHES = 10  # delete_objects calls in flight at once (the client's pool holds 16 connections)


class Deleting:
    """Mixed into store.Store: needs `scope`, `refused`, `last_error` and `_call`."""

    # -- deleting: the one place ---------------------------------------------------
    def in_scope(self, key: str) -> bool:
        """Under one of the scope's prefixes, with no '.'/'..' path segment a gateway might resolve elsewhere."""
        if not isinstance(key, str) or not any(key.startswith(p) for p in self.scope):
            return False
        return not any(part in (".", "..") for part in key.split("/"))

    def delete(self, key: str) -> None:
        """One DeleteObject (the preflight's probe), under the same guard as every batch."""
        if not self.in_scope(key):
            self.refused.append(key)
            raise _error(f"{key} is outside the prefixes this run may delete under: not deleted", "OutOfScope")
        self._call("delete_object", Key=key)

    def delete_keys(self, keys: Iterable[str]) -> Tuple[int, List[str]]:
        """Batched delete (see _delete). Returns (deleted count, keys that failed); keys outside the scope
        are neither (see `refused`)."""
        return self._delete([(key, None) for key in keys])

    def delete_versions(self, versions: Iterable[Tuple[str, Optional[str]]]) -> Tuple[int, List[str]]:
        """Delete these (key, version id) pairs: versions and delete markers, for good."""
        return self._delete(list(versions))

    def _delete(self, entries: List[Tuple[str, Optional[str]]]) -> Tuple[int, List[str]]:
        """The only code that sends DeleteObjects. Keys outside the scope are dropped here, before anything
        is sent. 1000 keys a call (S3's limit), the batches concurrently: one round trip for a run's cleanup
        and for a sweep of 10 000 objects alike. A refusal of the whole call (AccessDenied) counts every key
        of its batch as failed, with the code in `last_error`."""
        allowed = [(k, v) for k, v in entries if self.in_scope(k)]
        self.refused.extend(k for k, v in entries if not self.in_scope(k))
        batches = [allowed[start:start + 1000] for start in range(0, len(allowed), 1000)]

        def delete_batch(batch: List[Tuple[str, Optional[str]]]) -> List[str]:
            objects = [{"Key": k, **({"VersionId": v} if v else {})} for k, v in batch]
            if not all(self.in_scope(o["Key"]) for o in objects):  # the invariant, once more, at the wire
                raise _error("refusing to delete outside the run's prefixes", "OutOfScope")
            try:
                answer = self._call("delete_objects", Delete={"Objects": objects, "Quiet": True})
            except Exception as exc:  # a StoreError from _call
                if not batch[0][1] or getattr(exc, "code", "") not in VERSION_REFUSALS:
                    raise  # a refused version delete is a finding (what remains); anything else an S3 error
                self.last_error = exc.code
                return [k for k, _v in batch]
            errors = answer.get("Errors") or []
            if errors:
                self.last_error = str(errors[0].get("Code") or "")
            return [e.get("Key") for e in errors]

        if len(batches) <= 1:
            results = [delete_batch(batch) for batch in batches]
        else:
            with ThreadPoolExecutor(max_workers=min(len(batches), MAX_CONCURRENT_BATCHES),
                                    thread_name_prefix=threading.current_thread().name) as pool:  # the step's name
                results = list(pool.map(delete_batch, batches))
        failed = [key for errors in results for key in errors]
        return len(allowed) - len(failed), failed


def _error(message: str, code: str) -> StoreError:
    return StoreError(message, code)
