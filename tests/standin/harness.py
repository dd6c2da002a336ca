"""Test helpers for the REPL-facing tests: the stand-in host on sys.path (and off it again),
REPL objects with a recording console, and the environment of a running sandbox.

Import the fixtures into a test module with ``from standin.harness import *``-style imports.
"""

from __future__ import annotations

import io
import os
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

STANDIN_DIR = Path(__file__).resolve().parent
REPO_ROOT = STANDIN_DIR.parent.parent
HOST_MODULES = ("zorora", "standin_repl")


def _purge_host_modules() -> None:
    for name in list(sys.modules):
        if name.split(".")[0] in HOST_MODULES:
            del sys.modules[name]


class Host:
    """The stand-in host's modules, imported fresh for one test."""

    def __init__(self) -> None:
        import standin_repl
        import zorora.commands.ona_platform as ona
        import zorora.http_client as http_client
        import zorora.remote_command as remote_command

        self.repl_module = standin_repl
        self.ona = ona
        self.http_client = http_client
        self.remote_command = remote_command
        self.RemoteCommand = remote_command.RemoteCommand
        self.CommandError = remote_command.CommandError
        self.ZororaHTTPClient = http_client.ZororaHTTPClient

    def console(self, *, width: int = 140, color: bool = False, no_color: bool = False):
        from rich.console import Console

        return Console(
            file=io.StringIO(),
            width=width,
            force_terminal=color,
            color_system="standard" if color else None,
            no_color=no_color,
            highlight=True,
            soft_wrap=False,
        )

    def repl(self, *, ona_commands: bool = True, console=None, **kw):
        repl = self.repl_module.StandinREPL(console=console or self.console(), **kw)
        if ona_commands:
            self.ona.register_ona_commands(repl)
        return repl


def output(repl) -> str:
    return repl.ui.console.file.getvalue()


@pytest.fixture
def standin_path() -> Iterator[Path]:
    """The stand-in host importable (nothing imported yet); sys.path, sys.meta_path and the host's
    modules are put back afterwards, so other tests never see a `zorora` package."""
    saved_meta_path = list(sys.meta_path)
    saved_path = list(sys.path)
    _purge_host_modules()
    sys.path.insert(0, str(STANDIN_DIR))
    try:
        yield STANDIN_DIR
    finally:
        _purge_host_modules()
        sys.path[:] = saved_path
        sys.meta_path[:] = saved_meta_path


@pytest.fixture
def host(standin_path, monkeypatch) -> Host:
    """The stand-in `zorora` package and REPL module, imported fresh, with autoload switched off
    (tests register explicitly unless they are about autoload)."""
    monkeypatch.setenv("ZORORA_E2E_AUTOLOAD", "0")
    return Host()


def sandbox_env(sandbox) -> dict[str, str]:
    env = dict(sandbox.env())
    env.pop("ONA_API_BASE_URL", None)
    env.pop("ONA_API_TOKEN", None)
    return env


@pytest.fixture
def target_env(monkeypatch, sandbox_instance):
    """The S3 side of the session sandbox in the environment, the API side in ONA_* (what the
    REPL's ml-* commands read when they are registered)."""
    for name, value in sandbox_instance.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("TEST_CUSTOMER_ID", raising=False)
    monkeypatch.delenv("TEST_ACTOR", raising=False)
    monkeypatch.delenv("ZORORA_AUTO_CONFIRM", raising=False)
    return sandbox_instance


def wait_for_threads(before: list[threading.Thread], timeout: float = 5.0) -> list[threading.Thread]:
    """Threads started since `before` that are still alive after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        extra = [t for t in threading.enumerate() if t not in before and t.is_alive()]
        if not extra or time.monotonic() > deadline:
            return extra
        time.sleep(0.05)


def subprocess_env(**extra: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ONA_", "ZORORA_", "PYTEST_"))}
    env["ZORORA_E2E_HISTORY"] = os.environ.get("ZORORA_E2E_HISTORY", "0")  # no run history from the suite
    for key, value in extra.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


#: What a real Zorora checkout needs from its environment to run offline with its `ml-` commands, as its
#: README-following user sets it (see our README, "Using it in Zorora"): Zorora's shipped (Docker) config
#: turns the REPL's `ml-` commands off unless ZORORA_REPL_LEGACY_ENABLED is true, and reads two API keys from
#: AWS SSM at import unless they are set; boto3 must not look for instance credentials either.
ZORORA_HOST_ENV = {
    "ZORORA_REPL_LEGACY_ENABLED": "true",
    "EIA_API_KEY": "offline",
    "OPENEI_API_KEY": "offline",
    "AWS_EC2_METADATA_DISABLED": "true",
}

#: A config for a checkout that has none, when it has no config.docker.py either (older checkouts).
STUB_CONFIG = "REPL_LEGACY_ENABLED = True\nREPL_CODEGEN_ENABLED = True\n"


def zorora_host_env(**extra: str | None) -> dict[str, str]:
    """subprocess_env() plus what the real host needs (ZORORA_HOST_ENV); `extra` wins."""
    return subprocess_env(**{**ZORORA_HOST_ENV, **extra})


def zorora_config_dir(src: Path, where: Path, python: str | None = None) -> Path:
    """A directory to put on PYTHONPATH after the checkout, holding the `config` module Zorora imports when
    the checkout has no config.py of its own: a copy of its config.docker.py (what its Docker image does),
    else the stub its CI generates, else STUB_CONFIG. A checkout's own config.py always wins (it comes first
    on sys.path), and is never written to."""
    import shutil
    import subprocess

    where.mkdir(parents=True, exist_ok=True)
    src = Path(src)
    if (src / "config.py").exists():
        return where
    if (src / "config.docker.py").exists():
        shutil.copy(src / "config.docker.py", where / "config.py")
    elif python and (src / ".github" / "generate_ci_config.py").exists():
        subprocess.run([python, str(src / ".github" / "generate_ci_config.py")], cwd=where, check=True)
    else:
        (where / "config.py").write_text(STUB_CONFIG)
    return where


__all__ = [
    "Host",
    "REPO_ROOT",
    "STANDIN_DIR",
    "STUB_CONFIG",
    "ZORORA_HOST_ENV",
    "host",
    "standin_path",
    "output",
    "sandbox_env",
    "subprocess_env",
    "target_env",
    "wait_for_threads",
    "zorora_config_dir",
    "zorora_host_env",
]
