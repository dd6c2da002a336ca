"""The engine through Zorora's own command classes (`--client zorora`): against the stand-in host written
from docs/platform.md, section 1, and against a real Zorora checkout when ZORORA_SRC points at one."""

import io
import os
import sys

import pytest
from helpers.engine import STANDIN

from zorora_e2e_plugin.config.flags import RunFlags
from zorora_e2e_plugin.config.settings import resolve
from zorora_e2e_plugin.core.outcomes import FAIL, PASSED
from zorora_e2e_plugin.report.console import make_console
from zorora_e2e_plugin.run.in_sandbox import sandbox_target
from zorora_e2e_plugin.run.validate import validate
from zorora_e2e_plugin.sandbox import Sandbox

HOSTS = [
    pytest.param(STANDIN, id="standin"),
    pytest.param(
        os.environ.get("ZORORA_SRC"),
        id="real-zorora",
        marks=[
            pytest.mark.real_zorora,
            pytest.mark.skipif(
                not os.environ.get("ZORORA_SRC"), reason="ZORORA_SRC not set (path of a Zorora checkout)"
            ),
        ],
    ),
]


@pytest.fixture(params=HOSTS)
def zorora_host(request, monkeypatch):
    path = request.param
    if not os.path.isdir(os.path.join(path or "", "zorora")):
        pytest.skip(f"no zorora package under {path}")
    for name in [m for m in sys.modules if m == "zorora" or m.startswith("zorora.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.syspath_prepend(path)
    import zorora

    assert os.path.dirname(os.path.dirname(os.path.abspath(zorora.__file__))) == os.path.abspath(path)
    yield path
    for name in [m for m in sys.modules if m == "zorora" or m.startswith("zorora.")]:
        del sys.modules[name]


@pytest.fixture(scope="module")
def sandbox():
    with Sandbox() as sb:
        yield sb


def _run(sandbox, faults=()):
    sandbox.set_faults(list(faults))
    try:
        settings = resolve(RunFlags(client="zorora"), {}, target=sandbox_target(sandbox))
        out = io.StringIO()
        return validate(settings, console=make_console(file=out, no_color=True)), out.getvalue()
    finally:
        sandbox.set_faults([])


def test_full_run_through_zorora_classes(zorora_host, sandbox, monkeypatch):
    monkeypatch.delenv("ZORORA_AUTO_CONFIRM", raising=False)
    result, text = _run(sandbox)
    assert result.client == "zorora" and "Zorora's ml-* command classes" in text
    assert result.verdict == PASSED, text
    assert "ZORORA_AUTO_CONFIRM" not in os.environ


@pytest.mark.parametrize(
    "fault, failing, hint",
    [
        ("no-latest-alias", "3.1", "production/latest"),
        ("metrics-non-greedy", "0.5", "not greedy"),
        ("fixed-actor", "3.1", "neither the body's 'actor' nor the X-Actor header"),
        ("bad-token", "0.2", "INTERNAL_API_TOKEN"),
    ],
)
def test_faults_are_named_through_zorora_classes(zorora_host, sandbox, fault, failing, hint):
    result, text = _run(sandbox, [fault])
    failed = next(s for s in result.steps if s.id == failing)
    assert failed.status == FAIL and hint in failed.hint, text


@pytest.mark.parametrize(
    "variant",
    [[], ["actor-from-header"], ["keep-restored-archive"]],
    ids=["body-actor-first", "header-actor-first", "keeps-restored-archive"],
)
def test_legitimate_server_variants_pass_through_zorora_classes(zorora_host, sandbox, monkeypatch, variant):
    """The REPL user's own ZORORA_ACTOR must not reach the server during the run (X-Actor carries the test
    actor, as the body does), and it is back afterwards."""
    monkeypatch.setenv("ZORORA_ACTOR", "alice-the-repl-user")
    result, text = _run(sandbox, variant)
    assert result.verdict == PASSED, text
    assert os.environ["ZORORA_ACTOR"] == "alice-the-repl-user"
