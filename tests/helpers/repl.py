"""A line typed into the stand-in REPL (standin/harness.py's host), and the verdict our command printed."""

from __future__ import annotations

from standin.harness import output

from zorora_e2e_plugin.repl import invocation as repl_run


def run(repl, line: str):
    """Type `line` into the REPL; the verdict line our command printed (None when the host ran no command
    of ours). The command returns an empty string: the host prints what it gets back twice."""
    before = len(repl.responses)
    ours = repl.remote_commands.get("ml-validate-e2e")
    if ours is not None:
        ours.last_verdict = None
    repl.handle(line)
    if len(repl.responses) == before:
        return None
    if not line.lstrip("/").startswith("ml-validate-e2e"):
        return repl.responses[-1]  # another ml-* command: what it returned
    assert repl.responses[-1] == repl_run.RETURNED
    return ours.last_verdict


def run_shown(repl, line):
    """Type `line`; (the verdict line the command printed, what the session showed for it)."""
    before = len(output(repl))
    repl.handle(line)
    assert repl.responses[-1] == repl_run.RETURNED  # the host prints it twice: it must show nothing
    return repl.remote_commands["ml-validate-e2e"].last_verdict, output(repl)[before:]
