"""What the bench measures with: sequential round trips in a sandbox's request log, the console script as a
user runs it, a clean environment, and one timed run of a command (see bench.py)."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence


def sequential_round_trips(intervals: Sequence[tuple[float, float]]) -> int:
    """Longest chain of non-overlapping intervals (greedy by end time is optimal)."""
    count, last_end = 0, float("-inf")
    for start, end in sorted(intervals, key=lambda iv: iv[1]):
        if start >= last_end:
            count, last_end = count + 1, end
    return count


def round_trips(log) -> int:
    return sequential_round_trips([(r.started, r.ended) for r in log])


def met_or_missed(ok: bool) -> str:
    return "met" if ok else "MISSED"


def console_script() -> list[str]:
    """The installed console script (what a user types), else the module."""
    script = os.path.join(os.path.dirname(sys.executable), "zorora-e2e")
    return [script] if os.path.isfile(script) else [sys.executable, "-m", "zorora_e2e_plugin.cli"]


def clean_env(extra: dict[str, str]) -> dict[str, str]:
    """The environment of a measured process: no settings of ours or AWS's, and Python's default of caching
    bytecode (some CI images set PYTHONDONTWRITEBYTECODE, which makes every start compile every module)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(
            ("ONA_", "AWS_", "TEST_", "OUTPUT_BUCKET", "ZORORA_", "PYTHONPATH", "PYTHONDONTWRITEBYTECODE")
        )
    }
    env.update(AWS_EC2_METADATA_DISABLED="true", ZORORA_E2E_HISTORY="0")
    env.update(extra)
    return env


def warm_up(cmd: list[str], env: dict[str, str]) -> None:
    """One run that is not measured: it writes the bytecode caches, as anyone's first run does."""
    subprocess.run(
        cmd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=300
    )


def timed(cmd: list[str], env: dict[str, str], sandbox) -> tuple[int, float, int, int, str]:
    del sandbox.request_log[:]
    started = time.monotonic()
    done = subprocess.run(
        cmd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=300
    )
    wall = time.monotonic() - started
    log = list(sandbox.request_log)
    return done.returncode, wall, round_trips(log), len(log), done.stdout


def process_row(kind: str, latency: int, runs, target: str) -> None:
    """One row of the bench's process table: exit codes, median and fastest wall, round trips, requests."""
    codes = {r[0] for r in runs}
    print(
        f"{kind:<10} {latency:>5}ms {'/'.join(map(str, sorted(codes))):>5} "
        f"{statistics.median(r[1] for r in runs):>7.2f} "
        f"{min(r[1] for r in runs):>7.2f} {max(r[2] for r in runs):>7} {max(r[3] for r in runs):>9}   {target}"
    )
    if codes != {0}:
        print(runs[0][4][-2000:])
