"""Python's cyclic garbage collector during a command-line run.

A `zorora-e2e run` (or `demo`) is one short process: it imports botocore, requests and rich, builds one S3
client, sends 15-60 requests and exits without the interpreter's teardown (cli.entry). The collector's passes
in that time free almost nothing (the imports' objects live as long as the process) yet cost 50-150 ms of
CPU, a full pass of ~50 ms of it inside botocore's `create_client`, on the thread the run is waiting for. So
for these commands it is off from the start; the memory it would have freed stays well under a megabyte a
run (see docs/performance.md). Long-lived processes (the REPL, `zorora-e2e sandbox`) keep Python's default.
"""

from __future__ import annotations

import gc

ONE_SHOT = ("run", "demo")  # commands that end the process when their one run is over


def for_command(command: str) -> None:
    """Turn the collector off for a one-shot command's process (no-op for any other)."""
    if command in ONE_SHOT:
        gc.disable()
