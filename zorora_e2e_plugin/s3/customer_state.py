"""The test customer's state in S3, as one picture (its registry, its audit events and, when listed, its
archive), and where a customer's objects live (`customer_prefixes`). The plan's steps read it to judge
(plan.calls.read_state: concurrent, a failed read is diagnosed); the state views and the --html report read it
to show (`S3State.read`: a view never fails the run, and whatever S3 holds is shown as found).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from .store import Store

TOP_LEVELS = ("customer_tailored/", "model_metrics/", "audit_logs/")  # where the platform keeps a customer


def customer_prefixes(customer_id: str) -> tuple[str, ...]:
    """The three prefixes a customer's objects live under (a run writes nowhere else); each ends in '/' so no other
    customer matches."""
    return tuple(f"{top}{customer_id}/" for top in TOP_LEVELS)


class CustomerKeys(Protocol):
    """Where a customer's state lives (the plan's SeedData says it for the test customer)."""

    @property
    def registry_key(self) -> str: ...

    @property
    def audit_key(self) -> str: ...

    @property
    def archive_prefix(self) -> str: ...


@dataclasses.dataclass
class S3State:
    """The registry (parsed, and its bytes when the plan needs to compare them), the audit events and the
    archive's objects ({Key, Size, ...}; None: not listed)."""

    registry: dict
    events: list[dict]
    archive_objects: list[dict] | None = None
    registry_raw: bytes | None = None

    @property
    def archives(self) -> list[str] | None:
        """The archive's keys (None: not listed)."""
        return None if self.archive_objects is None else [str(obj.get("Key", "")) for obj in self.archive_objects]

    @classmethod
    def read(cls, store: Store, world: CustomerKeys) -> S3State:
        """Registry, audit log and archive listing, one after the other, for a view: a registry that is not a
        JSON object reads as {}, an audit log without a list of events as none."""
        registry, registry_raw = store.get_json(world.registry_key)
        audit, _ = store.get_json(world.audit_key)
        events = audit.get("events") if isinstance(audit, dict) else None
        return cls(
            registry=registry if isinstance(registry, dict) else {},
            events=events if isinstance(events, list) else [],
            archive_objects=store.list_objects(world.archive_prefix),
            registry_raw=registry_raw,
        )


__all__ = ["S3State"]
