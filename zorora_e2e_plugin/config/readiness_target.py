"""`--for CUSTOMER [CHALLENGER_ID]`: whose promotion the readiness phase checks, resolved with the other settings.

The readiness phase (plan/readiness/phase.py) reads that customer's challengers, metrics, diff, registry and audit
log, and never writes or promotes anything for it; so `--for` is a preflight's question (it implies
--preflight-only: config/flags.RunFlags) and refuses other phases (a full run writes, promotes and deletes, and does
that only for a zorora-e2e-test- customer of its own). Cheap to import:
settings.py calls `target_from` in resolve().
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence

from .checks import SettingsError

_CUSTOMER_RE = re.compile(r"^[A-Za-z0-9._\-]+$")  # as settings.CUSTOMER_ID_RE (not imported: no circle)
_MODEL_RE = re.compile(r"^[A-Za-z0-9._\-]+(/[A-Za-z0-9._\-]+)*$")


@dataclasses.dataclass(frozen=True)
class ReadinessTarget:
    """The customer whose promotion is checked, and the challenger (None: the newest evaluated one)."""

    customer_id: str
    challenger_id: str | None = None


def target_from(
    value: Sequence[str] | None, *, run_customer: str, phases: Sequence[int] | None
) -> ReadinessTarget | None:
    """The --for values as a ReadinessTarget (None without --for); a SettingsError (exit 2) names what is wrong.
    `phases`: the --phase values asked for (--preflight-only is [0]; none: the full run)."""
    if not value:
        return None
    values = [str(v).strip() for v in value]
    if set(phases or ()) != {0}:  # --for without --phase is a preflight (RunFlags); with other phases, refused
        others = " ".join(f"--phase {p}" for p in sorted(set(phases or range(6)) - {0}))
        raise SettingsError(
            f"--for checks a real customer read-only after the preflight: it does not combine with "
            f"{others} (a full run writes, promotes and deletes, and never for a real customer)"
        )
    if len(values) > 2:
        raise SettingsError(
            f"--for takes a customer id and at most one challenger id (got {len(values)} values: {' '.join(values)})"
        )
    customer = values[0]
    if not _CUSTOMER_RE.fullmatch(customer):
        raise SettingsError(
            f"--for: {customer!r} is not a customer id (letters, digits, '.', '_' and '-' only), e.g. --for acme"
        )
    if customer == run_customer:
        raise SettingsError(
            f"--for {customer}: that is the run's own test customer (--customer-id/TEST_CUSTOMER_ID), "
            "whose prefixes the preflight probes; name the customer whose promotion you want checked"
        )
    challenger = values[1] if len(values) > 1 else None
    if challenger is not None and not _MODEL_RE.fullmatch(challenger):
        raise SettingsError(
            f"--for: {challenger!r} is not a model id; challenger ids look like "
            f"{customer}/challenger_YYYYMMDD_HHMMSS (ml-list-challengers {customer} lists them)"
        )
    return ReadinessTarget(customer, challenger)


def seed_specs(specs: Sequence[str] | None) -> list:
    """--seed-customer NAME[:VARIANT] values for a demo's sandbox, checked (SettingsError) before it starts."""
    from ..sandbox.seeding import parse_seed

    try:
        return [spec for spec in specs or () if parse_seed(spec)]
    except ValueError as exc:
        raise SettingsError(str(exc)) from None


__all__ = ["ReadinessTarget", "seed_specs", "target_from"]
