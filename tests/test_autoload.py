"""Zero-touch registration: the `.pth` start-up hook, the import finder, the wrapper around the
host's `register_ona_commands`, the switch, and what it all costs at start-up."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from standin.harness import REPO_ROOT, STANDIN_DIR, Host, output, subprocess_env

import zorora_e2e_plugin
from zorora_e2e_plugin import autoload

PTH_SOURCE = REPO_ROOT / "zorora_e2e_plugin" / "_autoload" / "zorora_e2e_autoload.pth"
STANDIN_MAIN = STANDIN_DIR / "standin_repl.py"


def _finders():
    return [f for f in sys.meta_path if getattr(f, "_zorora_e2e_finder", False)]


@pytest.fixture
def fresh(standin_path, monkeypatch):
    """Stand-in host on the path, nothing imported, no finder of ours installed, switch unset."""
    autoload.uninstall()
    monkeypatch.delenv("ZORORA_E2E_AUTOLOAD", raising=False)
    return standin_path


# ---------------------------------------------------------------------------------- in-process


def test_finder_wraps_register_ona_commands_when_the_module_is_imported(fresh):
    assert autoload.install() is True
    assert len(_finders()) == 1
    import zorora.commands.ona_platform as ona

    assert getattr(ona.register_ona_commands, "__zorora_e2e_wrapped__", False)
    assert _finders() == []  # the finder leaves once it has fired
    assert ona.register_ona_commands.__name__ == "register_ona_commands"
    assert ona.__spec__.loader.get_source("zorora.commands.ona_platform")  # tools still work

    host = Host()
    repl = host.repl()  # calls register_ona_commands, as Zorora's main.py does
    assert list(repl.remote_commands)[-1] == "ml-validate-e2e"
    assert len(repl.remote_commands) == 7
    assert output(repl).index("ml-audit-log") < output(repl).index("ml-validate-e2e")


def test_registering_twice_is_harmless(fresh):
    autoload.install()
    host = Host()
    repl = host.repl()
    host.ona.register_ona_commands(repl)  # the REPL registering again ...
    zorora_e2e_plugin.register(repl)  # ... and the explicit two lines on top
    assert output(repl).count("Registered remote command: ml-validate-e2e") == 1


def test_install_after_the_module_is_imported_patches_it_directly(fresh):
    import zorora.commands.ona_platform as ona

    assert not getattr(ona.register_ona_commands, "__zorora_e2e_wrapped__", False)
    assert autoload.install() is True and _finders() == []
    assert getattr(ona.register_ona_commands, "__zorora_e2e_wrapped__", False)
    install_twice = autoload.install()
    assert install_twice and not getattr(ona.register_ona_commands.__wrapped__, "__zorora_e2e_wrapped__", False)


def test_install_is_idempotent(fresh):
    autoload.install()
    autoload.install()
    assert len(_finders()) == 1


def test_other_imports_pass_straight_through(fresh):
    autoload.install()
    import zorora.http_client  # noqa: F401  (not the target: untouched, finder stays)

    assert len(_finders()) == 1


@pytest.mark.parametrize("value", ["0", "false", "off", "no", " 0 "])
def test_switched_off_at_start_up(fresh, monkeypatch, value):
    monkeypatch.setenv("ZORORA_E2E_AUTOLOAD", value)
    assert autoload.install() is False and _finders() == []


def test_switched_off_when_the_repl_registers(fresh, monkeypatch):
    autoload.install()
    host = Host()
    monkeypatch.setenv("ZORORA_E2E_AUTOLOAD", "0")
    repl = host.repl()
    assert "ml-validate-e2e" not in repl.remote_commands and len(repl.remote_commands) == 6


def test_a_failing_plugin_never_breaks_the_host(fresh, monkeypatch, capsys):
    autoload.install()
    host = Host()

    def broken(repl):
        raise RuntimeError("plugin bug")

    monkeypatch.setattr(zorora_e2e_plugin, "register", broken)
    repl = host.repl()
    assert len(repl.remote_commands) == 6
    assert "ml-validate-e2e not registered: RuntimeError: plugin bug" in capsys.readouterr().err


def test_the_hosts_own_errors_are_unchanged(fresh, monkeypatch):
    autoload.install()
    host = Host()

    class NoRegistry:
        ui = None

        def register_remote_command(self, command):
            raise ValueError("host refused")

    with pytest.raises(ValueError, match="host refused"):
        host.ona.register_ona_commands(NoRegistry())


# ------------------------------------------------------------------------- the .pth file itself


def test_pth_is_one_import_line_that_honours_the_switch():
    lines = [line for line in PTH_SOURCE.read_text().splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("import ")
    assert "ZORORA_E2E_AUTOLOAD" in lines[0]


def test_pyproject_puts_the_pth_at_site_packages_root():
    try:
        import tomllib
    except ImportError:  # Python < 3.11
        pytest.skip("tomllib needs Python 3.11")
    data = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    force = data["tool"]["hatch"]["build"]["targets"]["wheel"]["force-include"]
    assert force["zorora_e2e_plugin/_autoload/zorora_e2e_autoload.pth"] == "zorora_e2e_autoload.pth"


def _run_standin(tmp_path, *, bootstrap: str = "", **env) -> str:
    """Start the stand-in REPL the way a user starts Zorora and type `exit`."""
    code = (
        bootstrap + f"import runpy, sys; sys.argv = [{str(STANDIN_MAIN)!r}]; "
        f"sys.path.insert(0, {str(STANDIN_DIR)!r}); runpy.run_path({str(STANDIN_MAIN)!r}, run_name='__main__')"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        input="exit\n",
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env=subprocess_env(ONA_API_BASE_URL="http://127.0.0.1:9/prod/api/v1", **env),
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_a_fresh_site_dir_with_only_the_pth_registers_the_command(tmp_path):
    """Hermetic: the installed hook is removed, then the repository's .pth is processed as
    site.py processes any site-packages directory."""
    site_dir = tmp_path / "site"
    site_dir.mkdir()
    shutil.copy(PTH_SOURCE, site_dir / PTH_SOURCE.name)
    bootstrap = (
        "import sys; sys.meta_path[:] = [f for f in sys.meta_path if not getattr(f, '_zorora_e2e_finder', 0)]; "
        f"import site; site.addsitedir({str(site_dir)!r}); "
    )
    assert "Registered remote command: ml-validate-e2e" in _run_standin(tmp_path, bootstrap=bootstrap)
    off = _run_standin(tmp_path, bootstrap=bootstrap, ZORORA_E2E_AUTOLOAD="0")
    assert "Registered remote command: ml-audit-log" in off and "ml-validate-e2e" not in off


def _installed_pth():
    for key in ("purelib", "platlib"):
        candidate = Path(sysconfig.get_paths()[key]) / PTH_SOURCE.name
        if candidate.exists():
            return candidate
    return None


def test_installed_package_registers_with_zero_touch(tmp_path):
    """The real installation in this environment: start the REPL exactly as before."""
    installed = _installed_pth()
    if installed is None:
        pytest.skip("zorora_e2e_autoload.pth is not in this environment's site-packages (pip install -e . first)")
    assert installed.read_text() == PTH_SOURCE.read_text()
    assert "Registered remote command: ml-validate-e2e" in _run_standin(tmp_path)
    assert "ml-validate-e2e" not in _run_standin(tmp_path, ZORORA_E2E_AUTOLOAD="0")


# ---------------------------------------------------------------------------------------- cost


def _importtime(code: str, **env) -> dict:
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        env=subprocess_env(**env),
    )
    assert result.returncode == 0, result.stderr
    times = {}
    for line in result.stderr.splitlines():
        match = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|(\s*)(\S+)", line)
        if match:
            times[match.group(4)] = int(match.group(2))  # cumulative microseconds
    return times


def test_start_up_hook_costs_under_a_few_milliseconds():
    installed = _installed_pth()
    if installed is None:
        pytest.skip("the hook is not installed here")
    times = _importtime("pass")
    ours = {k: v for k, v in times.items() if k.startswith("zorora_e2e_plugin")}
    assert set(ours) == {"zorora_e2e_plugin", "zorora_e2e_plugin.autoload"}
    assert sum(ours.values()) < 10_000  # ~0.3 ms with bytecode; a few ms when compiling
    assert not {k for k in times if k.split(".")[0] in ("boto3", "botocore", "rich", "requests", "zorora")}
    off = _importtime("pass", ZORORA_E2E_AUTOLOAD="0")
    assert not [k for k in off if k.startswith("zorora_e2e_plugin")]


REGISTER_PROBE = r"""
import sys, threading, time, json
sys.path.insert(0, sys.argv[1])
import zorora.remote_command, zorora.http_client  # the host's, both already loaded in a real REPL
class Repl:
    def __init__(self):
        self.remote_commands = {}
    def register_remote_command(self, command):
        self.remote_commands[command.name] = command
before = set(sys.modules)
t0 = time.perf_counter()
import zorora_e2e_plugin
zorora_e2e_plugin.register(Repl())
took = time.perf_counter() - t0
print(json.dumps({"ms": took * 1000, "new": sorted(set(sys.modules) - before), "threads": threading.active_count()}))
"""


def test_import_and_register_are_cheap_and_start_nothing():
    result = subprocess.run(
        [sys.executable, "-c", REGISTER_PROBE, str(STANDIN_DIR)],
        capture_output=True,
        text=True,
        timeout=60,
        env=subprocess_env(ZORORA_E2E_AUTOLOAD="0"),
    )
    assert result.returncode == 0, result.stderr
    import json

    probe = json.loads(result.stdout)
    heavy = [
        m
        for m in probe["new"]
        if m.split(".")[0] in ("boto3", "botocore", "rich", "requests", "moto", "prompt_toolkit", "argparse", "urllib3")
    ]
    assert heavy == []
    assert not [
        m
        for m in probe["new"]
        if m.startswith("zorora_e2e_plugin.") and m not in ("zorora_e2e_plugin.repl", "zorora_e2e_plugin.repl.command")
    ]
    assert probe["threads"] == 1
    assert probe["ms"] < 20, probe


def test_importtime_of_the_package_and_command_module_is_under_20ms():
    times = _importtime("import zorora_e2e_plugin.repl.command", ZORORA_E2E_AUTOLOAD="0")
    assert times["zorora_e2e_plugin"] < 20_000
    assert times["zorora_e2e_plugin.repl.command"] < 20_000
    assert not {k for k in times if k.split(".")[0] in ("boto3", "botocore", "rich", "zorora")}


def test_autoload_module_imports_only_what_python_already_has():
    source = (REPO_ROOT / "zorora_e2e_plugin" / "autoload.py").read_text()
    top_level = re.findall(r"^(?:import|from) (\S+)", source, flags=re.M)
    assert set(top_level) <= {"os", "sys"}, top_level
