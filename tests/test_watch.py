"""One way to watch a requests session (issue 28 item 3): every request a run sends goes through one adapter that
one watch mounts (wire/adapter.py, wire/watch.py); the recorder, the history's timer and the mutation ledger
listen to it, and nothing else touches a session's `send`, hooks or adapters, or botocore's event hooks.

The REPL's Zorora client outlives every run: however a run ends (it passes, fails, is interrupted, runs out of
time, or an observer raises), the host's session is left exactly as it was, driven here through a REPL's dispatch
against a real sandbox on loopback.
"""

from __future__ import annotations

import ast
import io
import json
import uuid
from pathlib import Path

import pytest
from helpers.layering import MODULES, VALIDATOR
from standin.harness import output

import zorora_e2e_plugin
from zorora_e2e_plugin.repl import invocation as repl_run
from zorora_e2e_plugin.sandbox import Sandbox

# ------------------------------------------------------------------------------- who touches a session

TOUCHY = {"hooks", "adapters", "trust_env"}  # a session's attributes only the watch may reach
EVENTS = {"register", "register_first", "register_last", "unregister"}  # botocore's event system


def _chain(node) -> list:
    """x.meta.events.register -> ['x', 'meta', 'events', 'register']."""
    names = []
    while isinstance(node, ast.Attribute):
        names.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        names.append(node.id)
    return names[::-1]


def touches(source: str) -> list:
    """(line, what) for each way `source` touches a requests session or botocore's events: `.send` assigned or
    deleted (also through `__dict__`), `.hooks`, `.adapters` or `.trust_env` reached (also by getattr/setattr),
    `.mount(...)`, `...events.register(...)`, or an HTTPAdapter subclassed."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Delete)):
            targets = node.targets if isinstance(node, (ast.Assign, ast.Delete)) else [node.target]
            for target in targets:
                if isinstance(target, ast.Attribute) and target.attr == "send":
                    found.append((node.lineno, "assigns .send"))
                if (
                    isinstance(target, ast.Subscript)
                    and _chain(target.value)[-1:] == ["__dict__"]
                    and isinstance(target.slice, ast.Constant)
                    and target.slice.value == "send"
                ):
                    found.append((node.lineno, "__dict__['send']"))
        elif isinstance(node, ast.Attribute) and node.attr in TOUCHY:
            found.append((node.lineno, f".{node.attr}"))
        elif isinstance(node, ast.Call):
            chain = _chain(node.func)
            if chain[-1:] == ["mount"]:
                found.append((node.lineno, ".mount()"))
            elif chain[-1:] and chain[-1] in EVENTS and "events" in chain[:-1]:
                found.append((node.lineno, f"events.{chain[-1]}()"))
            elif (
                chain in (["getattr"], ["setattr"], ["delattr"], ["hasattr"])
                and len(node.args) > 1
                and isinstance(node.args[1], ast.Constant)
                and node.args[1].value in TOUCHY | {"send"}
            ):
                found.append((node.lineno, f"{chain[0]}(..., {node.args[1].value!r})"))
        elif isinstance(node, ast.ClassDef) and any(_chain(base)[-1:] == ["HTTPAdapter"] for base in node.bases):
            found.append((node.lineno, "subclasses HTTPAdapter"))
    return sorted(found)


def test_at_most_two_modules_in_wire_touch_a_session_or_botocores_events():
    touching = {name: touches(MODULES[name].read_text(encoding="utf-8")) for name in VALIDATOR}
    touching = {name: found for name, found in touching.items() if found}
    assert set(touching) <= {"wire.watch", "wire.adapter"}, touching


def test_the_scan_sees_every_way_of_touching_a_session():
    source = (
        "session.send = wrapper\n"
        "del session.send\n"
        "del session.__dict__['send']\n"
        "session.hooks['response'].append(hook)\n"
        "x = getattr(session, 'hooks', None)\n"
        "session.mount('https://', adapter)\n"
        "dict(session.adapters)\n"
        "session.trust_env = False\n"
        "client.meta.events.register('before-send.s3', handler)\n"
        "events.unregister('before-send.s3', handler)\n"
        "class A(requests.adapters.HTTPAdapter):\n    pass\n"
        "ctx.raw.send('GET', '/x')\n"  # sending is not touching
        "session.headers.update({})\n"
    )
    assert sorted({line for line, _what in touches(source)}) == list(range(1, 12))


# ------------------------------------------------------------------------- the REPL host's session, as it was


@pytest.fixture(scope="module")
def sandbox():
    with Sandbox(bucket=f"zorora-e2e-watch-{uuid.uuid4().hex[:8]}") as sb:
        yield sb


def as_it_is(client) -> dict:
    """What a run must give back of the host's client: its session's adapters (the same dict and adapter objects, in
    the same order), hooks (the same dict, lists and callables), instance attributes (no `send` of anyone's),
    headers and trust_env, and the client's max_retries."""
    session = client.session
    return {
        "adapters": (id(session.adapters), [(prefix, id(adapter)) for prefix, adapter in session.adapters.items()]),
        "hooks": (
            id(session.hooks),
            {event: (id(hooks), [id(h) for h in hooks]) for event, hooks in session.hooks.items()},
        ),
        "attributes": sorted(vars(session)),
        "send": "send" in vars(session),
        "headers": dict(session.headers),
        "trust_env": session.trust_env,
        "max_retries": client.max_retries,
    }


ENDINGS = {  # ending: (the command's flags, the sandbox's faults, what an observer does after the first step of
    # phase 2 (after phase 1 for "hang": GET /diff, sent next through the REPL's client, never answered), the verdict)
    "pass": ("", [], None, "✓ E2E validation passed"),
    "fail": ("", ["no-audit"], None, "✗ E2E validation failed"),
    "ctrl-c": ("", [], "ctrl-c", "⚠ E2E validation interrupted"),
    "deadline": ("--deadline 6", [], "hang", "✗ E2E validation failed"),
    "exception": ("", [], "raise", "✗ ml-validate-e2e crashed during the run"),
}


@pytest.mark.slow
@pytest.mark.xdist_group("signals")  # SIGINT sent to this process: one worker takes them all
@pytest.mark.parametrize("ending", list(ENDINGS))
def test_however_a_run_ends_the_repl_hosts_session_is_as_it_was(host, sandbox, monkeypatch, ending):
    import _thread

    from requests.adapters import HTTPAdapter

    flags, faults, action, verdict = ENDINGS[ending]
    for name, value in sandbox.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("ZORORA_E2E_HISTORY", "0")
    repl = host.repl()
    zorora_e2e_plugin.register(repl)
    client = repl.remote_commands["ml-list-challengers"].http_client  # the REPL's own: the run goes through it
    session = client.session
    hook = lambda response, *args, **kwargs: None  # noqa: E731 - the host's own instrumentation, which stays
    session.hooks["response"].append(hook)
    session.mount("https://ona.example/", HTTPAdapter())
    session.headers["X-Host"] = "zorora"
    before, kept = as_it_is(client), (dict(session.adapters), list(session.hooks["response"]))
    during, fired = [], []

    def step_finished(self, result):
        during.append((session.get_adapter(sandbox.api_url) is not kept[0]["http://"], session.trust_env))
        if action is None or not result.id.startswith("1." if action == "hang" else "2.") or fired:
            return
        fired.append(result.id)
        if action == "hang":
            sandbox.set_faults(["hang:/diff"])
        elif action == "raise":
            raise RuntimeError("an observer broke")
        else:
            _thread.interrupt_main()

    monkeypatch.setattr(repl_run._KeepResult, "step_finished", step_finished, raising=False)
    sandbox.set_faults(faults)
    try:
        repl.handle(f"ml-validate-e2e {flags}".strip())
    finally:
        sandbox.set_faults([])
    shown = repl.remote_commands["ml-validate-e2e"].last_verdict or ""
    assert shown.startswith(verdict), output(repl)
    assert bool(fired) == (action is not None), fired
    # the run's adapter was on; trust_env untouched (loopback skips only the proxy, in the adapter: issue 29 item 7)
    assert during and during[0] == (True, True), during
    assert as_it_is(client) == before and "send" not in vars(session)
    assert (dict(session.adapters), list(session.hooks["response"])) == kept  # (the objects themselves)


def test_a_send_the_host_wrapped_is_its_own_again_after_a_run(host, sandbox, monkeypatch):
    """A host that instruments its client's session by wrapping `send` on the instance keeps its wrapper, and the
    run's requests went through it (the run's own watching is below it, in the adapter)."""
    import requests

    for name, value in sandbox.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("ZORORA_E2E_HISTORY", "0")
    repl = host.repl()
    zorora_e2e_plugin.register(repl)
    session = repl.remote_commands["ml-list-challengers"].http_client.session
    seen = []

    def host_send(request, **kwargs):
        seen.append(request.method)
        return requests.Session.send(session, request, **kwargs)

    session.send = host_send
    repl.handle("ml-validate-e2e")
    assert (repl.remote_commands["ml-validate-e2e"].last_verdict or "").startswith("✓ E2E validation passed")
    assert vars(session).get("send") is host_send
    assert "POST" in seen and "GET" in seen


# ----------------------------------------------------------------------- what the listeners hear, unchanged


def test_the_recorder_times_an_s3_request_from_before_it_is_sent(sandbox, tmp_path):
    """S3's answer cap sends a request itself (a `before-send` handler): the recorder must hear of the request
    before that, or an S3 request is timed as if it took no time at all."""
    from zorora_e2e_plugin.config.flags import RunFlags
    from zorora_e2e_plugin.config.settings import resolve
    from zorora_e2e_plugin.report.console import make_console
    from zorora_e2e_plugin.run.in_sandbox import sandbox_target
    from zorora_e2e_plugin.run.validate import validate

    sandbox.set_faults(["latency:300"])
    try:
        settings = resolve(
            RunFlags(client="direct", phases=[0], har_path=str(tmp_path / "r.har")), {}, target=sandbox_target(sandbox)
        )
        result = validate(settings, console=make_console(file=io.StringIO(), no_color=True))
    finally:
        sandbox.set_faults([])
    assert result.verdict == "passed"
    entries = json.loads(Path(tmp_path / "r.har").read_text())["log"]["entries"]
    s3 = [e for e in entries if e["_kind"] == "s3"]
    assert s3 and all(e["time"] >= 300 for e in s3), [(e["request"]["method"], e["time"]) for e in s3]
