"""The history file whatever it holds and however long it grows (issue 17 item 14): records that parse as JSON
but hold odd values are skipped and counted (`history` crashed on `"kind": ["full"]` and `"duration_s": 1e999`);
`history` reads only the tail it shows (it parsed all of a 31 MB file); the file is rotated past a size.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from helpers.cli import cli

from zorora_e2e_plugin.history import file as history_file
from zorora_e2e_plugin.history.file import append, read


def record(n: int, **changes):
    base = {
        "v": 1,
        "started": f"2026-03-{1 + n // 86400 % 28:02d}T{n // 3600 % 24:02d}:{n // 60 % 60:02d}:{n % 60:02d}Z",
        "target": "sandbox",
        "client": "direct",
        "kind": "preflight",
        "phases": [0],
        "verdict": "passed",
        "duration_s": 0.25,
        "phase_s": {"0": 0.2},
        "routes": {"GET /challengers": {"count": 3, "median_ms": 12.0, "max_ms": 40.0}},
        "cold_start": False,
        "first_request_s": None,
        "json_report": None,
        "n": n,
    }
    base.update(changes)
    return base


ODD = [  # parse as JSON, but no run record holds them
    '{"v":1,"started":"2026-03-01T00:00:09Z","target":"sandbox","kind":["full"],"verdict":"passed","duration_s":1}',
    '{"v":1,"started":"2026-03-01T00:00:09Z","target":"sandbox","kind":"full","verdict":"passed","duration_s":1e999}',
    '{"v":1,"started":"2026-03-01T00:00:09Z","target":"sandbox","kind":"full","verdict":"passed","duration_s":NaN}',
    '{"v":1,"started":"2026-03-01T00:00:09Z","target":{"h":1},"kind":"full","verdict":"passed","duration_s":1}',
    '{"v":1,"started":"2026-03-01T00:00:09Z","target":"sandbox","kind":"full","verdict":["passed"]}',
    '{"v":1,"started":"2026-03-01T00:00:09Z","target":"sandbox","kind":"full","duration_s":-5}',
    '{"v":1,"started":"2026-03-01T00:00:09Z","kind":"full","cold_start":true,"first_request_s":1e999}',
    '{"v":1,"started":"2026-03-01T00:00:09Z","kind":"full","phase_s":{"0":"slow"}}',
    '{"v":1,"started":"2026-03-01T00:00:09Z","kind":"full","routes":{"GET /diff":{"median_ms":1e999}}}',
]


def test_records_with_odd_values_are_skipped_and_counted(tmp_path):
    path = tmp_path / "h.jsonl"
    lines = [json.dumps(record(1, kind="full", duration_s=1.5))] + ODD + [json.dumps(record(2, duration_s=0.5))]
    path.write_text("\n".join(lines) + "\n")
    records, notes = read(str(path))
    assert [r["n"] for r in records] == [1, 2]
    assert notes == [f"{len(ODD)} line(s) of {path} are not run records: skipped (line 2, 3, 4, 5, 6, ...)"]
    done = cli("history", "--no-color", env={"ZORORA_E2E_HISTORY": str(path)})
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert f"{len(ODD)} line(s) of" in done.stdout and "sandbox  2 run(s)" in done.stdout, done.stdout


@pytest.mark.parametrize("odd", ODD)
def test_history_never_crashes_on_one_odd_record(tmp_path, odd):
    path = tmp_path / "h.jsonl"
    path.write_text(json.dumps(record(1)) + "\n" + odd + "\n")
    done = cli("history", "--no-color", env={"ZORORA_E2E_HISTORY": str(path)})
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr[-2000:]
    assert "1 line(s) of" in done.stdout and "sandbox  1 run(s)" in done.stdout, done.stdout


def _big_history(path, count: int) -> None:
    with open(path, "w") as handle:
        for n in range(count):
            handle.write(json.dumps(record(n), separators=(",", ":")) + "\n")


@pytest.mark.slow
def test_history_reads_only_the_tail_of_a_long_file(tmp_path):
    path = tmp_path / "h.jsonl"
    _big_history(path, 100_000)
    assert os.path.getsize(path) > 3 * history_file.TAIL_BYTES
    records, notes = read(str(path))
    assert 1000 < len(records) < 100_000 // 3  # the most recent runs, not the whole file
    assert records[-1]["n"] == 99_999 and [r["n"] for r in records] == list(range(100_000 - len(records), 100_000))
    assert notes == [f"only the most recent {len(records)} lines of {path} were read (older runs are not shown)"]
    done = cli("history", "--no-color", "-n", "3", env={"ZORORA_E2E_HISTORY": str(path)})
    assert done.returncode == 0 and "Traceback" not in done.stderr
    assert "only the most recent" in done.stdout and f"sandbox  {len(records)} run(s)" in done.stdout


def test_the_file_is_rotated_past_its_size_and_read_across_both(tmp_path, monkeypatch):
    path = tmp_path / "h.jsonl"
    _big_history(path, 200)
    size = os.path.getsize(path)
    monkeypatch.setattr(history_file, "ROTATE_BYTES", size)
    append(record(200), str(path))  # past the size: the file becomes h.jsonl.1
    assert not path.exists() and os.path.getsize(str(path) + ".1") > size
    append(record(201), str(path))  # a new file begins
    assert [json.loads(line)["n"] for line in path.read_text().splitlines()] == [201]
    records, notes = read(str(path))
    assert [r["n"] for r in records] == list(range(202)) and notes == []
    records, notes = read(str(path), tail_bytes=size // 2)  # the tail spans both files: newest last
    assert records[-1]["n"] == 201 and records[-2]["n"] == 200 and len(records) < 150
    assert notes and notes[0].startswith("only the most recent")


_APPENDER = """
import sys
from zorora_e2e_plugin.history import file as history_file
history_file.ROTATE_BYTES = 64 * 1024
who, path = sys.argv[1], sys.argv[2]
for i in range(400):
    history_file.append({"started": "2026-01-01T00:00:00Z", "who": who, "i": i, "pad": who * 900}, path)
"""


def test_parallel_appends_with_rotation_stay_whole_and_bounded(tmp_path):
    path = tmp_path / "h.jsonl"
    procs = [subprocess.Popen([sys.executable, "-c", _APPENDER, who, str(path)]) for who in "abcd"]
    assert [p.wait(timeout=120) for p in procs] == [0] * 4
    total = 0
    for name in (path, tmp_path / "h.jsonl.1"):
        if name.exists():
            assert os.path.getsize(name) <= 64 * 1024 + 4 * 1024  # bounded: the limit plus a few lines
            for line in name.read_text().splitlines():
                json.loads(line)  # never a torn line
                total += 1
    assert sorted(os.listdir(tmp_path)) in (["h.jsonl", "h.jsonl.1"], ["h.jsonl.1"])
    assert total > 50  # the newest runs are all there
    records, _notes = read(str(path))
    assert records and all(r["i"] >= 0 for r in records)
