"""Shared fixtures.

Sandbox fixtures (``sandbox_*``): a running sandbox shared by the session, an HTTP helper for its
API, and a builder that writes the plan's Phase 1 world for a fresh customer id.
"""

from __future__ import annotations

import os
import signal
from typing import Any

import pytest
from helpers import figures
from helpers.sandbox import SandboxHttp, SandboxWorld, build_sandbox_world

# The stand-in REPL's fixtures (host, standin_path, target_env) for every test module, never imported by name
pytest_plugins = ["standin.harness"]


@pytest.fixture(autouse=True)
def _sigint_handled():
    """A suite started in the background by a script (`cmd &`) inherits an *ignored* SIGINT: then
    `_thread.interrupt_main()` does nothing and the run guard leaves SIGINT alone, so in-process Ctrl-C tests
    pass or fail by how the suite was started. Each test gets Python's default handler, as in a terminal."""
    ignored = signal.getsignal(signal.SIGINT) == signal.SIG_IGN
    if ignored:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    if ignored:
        signal.signal(signal.SIGINT, signal.SIG_IGN)


# Runs made by the suite stay out of the user's run history (~/.zorora/e2e-history.jsonl) unless asked:
# set ZORORA_E2E_HISTORY to a path to keep them. Subprocesses inherit this.
os.environ.setdefault("ZORORA_E2E_HISTORY", "0")
# ... and out of a CI job's summary (every run appends to GITHUB_STEP_SUMMARY when it is set): tests set it
os.environ.pop("GITHUB_STEP_SUMMARY", None)

# ----------------------------------------------------------------------------- pytest-xdist's workers

TERMINAL_SIZE = ("COLUMNS", "LINES")


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node):
    """In the controller: the terminal size variables a worker should have, the controller's (or none)."""
    node.workerinput["zorora_e2e_terminal_size"] = {name: os.environ.get(name) for name in TERMINAL_SIZE}


def pytest_configure(config):
    figures.register_figures(config)  # the controller's summary shows them, whichever process counted them
    # A suite started with SIGINT ignored (`nohup ... &`, `cmd &` in a script) would pass that on to every process
    # a module fixture starts before _sigint_handled runs: a `zorora-e2e sandbox` then keeps ignoring the SIGINT
    # that is to stop it, and its fixture's teardown times out. The whole session gets Python's default handler.
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    # A worker has GNU readline imported, which exports COLUMNS=80 and LINES=24: every CLI the tests start
    # in a pseudo-terminal of 140 columns would then draw at 80. The worker gets the controller's instead.
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None:
        for name, value in workerinput.get("zorora_e2e_terminal_size", {}).items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


# ----------------------------------------------------------------------------- the reliability figures


def pytest_sessionfinish(session):
    workeroutput = getattr(session.config, "workeroutput", None)  # set in a pytest-xdist worker only
    if workeroutput is not None:
        workeroutput["zorora_e2e_figures"] = dict(figures.FIGURES)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    """pytest-xdist: a worker ended; its figures join the controller's."""
    figures.merge(getattr(node, "workeroutput", {}).get("zorora_e2e_figures", {}))


# ----------------------------------------------------------------------------- sandbox fixtures


@pytest.fixture(scope="session")
def sandbox_instance():
    """One healthy sandbox for the session (no faults: tests that need faults start their own)."""
    from zorora_e2e_plugin.sandbox import Sandbox

    sandbox = Sandbox(seed=1234).start()
    try:
        yield sandbox
    finally:
        sandbox.stop()


@pytest.fixture
def sandbox_world(sandbox_instance) -> SandboxWorld:
    """A fresh customer in the shared sandbox, in the plan's Phase 1 state."""
    return build_sandbox_world(sandbox_instance)


@pytest.fixture
def sandbox_http(sandbox_instance):
    client = SandboxHttp(sandbox_instance)
    try:
        yield client
    finally:
        client.close()


@pytest.fixture(scope="session")
def sandbox_make_world():
    """build_sandbox_world(sandbox, customer_id=None) -> SandboxWorld, for sandboxes of your own."""
    return build_sandbox_world


@pytest.fixture
def sandbox_make_http():
    """SandboxHttp(sandbox) factory; the sessions it made are closed after the test."""
    made: list[SandboxHttp] = []

    def make(sandbox: Any) -> SandboxHttp:
        client = SandboxHttp(sandbox)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()
