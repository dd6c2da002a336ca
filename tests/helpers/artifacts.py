"""One engine run with every artifact asked for (test_artifacts.py, test_html_browser.py), and the check that
no artifact holds the token in any form."""

from __future__ import annotations

import io

from zorora_e2e_plugin.config.flags import RunFlags
from zorora_e2e_plugin.config.settings import resolve
from zorora_e2e_plugin.core.redact import forms_of
from zorora_e2e_plugin.report.console import make_console
from zorora_e2e_plugin.run.in_sandbox import sandbox_target
from zorora_e2e_plugin.run.options import RunOptions
from zorora_e2e_plugin.run.validate import validate

CANARY = "canary-TOKEN-5b1e9d03c7a24f86"


def run_in_process(sandbox, tmp_path, faults=(), debug=False, **flags):
    """One engine run with every artifact asked for; (result, console text, the sandbox's records of it)."""
    sandbox.set_faults(list(faults))
    paths = {
        "html_path": str(tmp_path / "r.html"),
        "har_path": str(tmp_path / "r.har"),
        "summary_md_path": str(tmp_path / "summary.md"),
        "json_path": str(tmp_path / "r.json"),
        "junit_path": str(tmp_path / "r.xml"),
    }
    try:
        settings = resolve(RunFlags(client="direct", **paths, **flags), {}, target=sandbox_target(sandbox))
        before = len(sandbox.request_log)
        out = io.StringIO()
        result = validate(settings, console=make_console(file=out, no_color=True), options=RunOptions(debug=debug))
        served = list(sandbox.request_log[before:])
    finally:
        sandbox.set_faults([])
    return result, out.getvalue(), served


def secret_forms():
    """Every form of the token (raw, JSON-escaped, URL-encoded, HTML-escaped, base64, ...) and pieces of it."""
    tail = CANARY.split("-")[-1]
    return sorted(forms_of(CANARY) | {tail[:8], tail[8:]}, key=len)


def assert_no_token(*texts):
    for text in texts:
        for form in secret_forms():
            assert form not in text, f"{form!r} leaked in:\n{text[:2000]}"
