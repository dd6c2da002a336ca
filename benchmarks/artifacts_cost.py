"""The bench's `artifacts` section: what `--html` and `--har` add to `zorora-e2e demo`, as a user runs it
(a fresh process each time, wall time), in alternating pairs so that a loaded machine hurts both sides alike.
Target: under a second of extra time (issue 20); the sizes of the files are printed beside it."""

from __future__ import annotations

import os
import statistics
import subprocess
import tempfile
import time

from .measure import clean_env, console_script, met_or_missed, warm_up

EXTRA_TARGET_S = 1.0


def _wall(cmd, env) -> float:
    started = time.monotonic()
    done = subprocess.run(
        cmd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=300
    )
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {done.returncode}")
    return time.monotonic() - started


def bench_artifacts(repeat: int) -> bool:
    print("\n## artifacts: `zorora-e2e demo` with and without --html --har (fresh process, wall)")
    env = clean_env({})
    plain = [*console_script(), "demo", "--no-color"]
    with tempfile.TemporaryDirectory() as where:
        html, har = os.path.join(where, "demo.html"), os.path.join(where, "demo.har")
        both = [*plain, "--html", html, "--har", har]
        warm_up(both, env)
        without, with_files = [], []
        for _ in range(max(3, repeat)):
            without.append(_wall(plain, env))
            with_files.append(_wall(both, env))
        sizes = f"demo.html {os.path.getsize(html) / 1024:.0f} KiB, demo.har {os.path.getsize(har) / 1024:.0f} KiB"
    extra = statistics.median(w - p for w, p in zip(with_files, without))
    ok = extra < EXTRA_TARGET_S
    print(
        f"  without {statistics.median(without):.2f} s, with {statistics.median(with_files):.2f} s: "
        f"+{extra:.2f} s (median of {len(without)} pairs; target < {EXTRA_TARGET_S:.1f} s: {met_or_missed(ok)}); "
        f"{sizes}"
    )
    return ok
