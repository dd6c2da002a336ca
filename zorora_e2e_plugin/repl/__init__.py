"""The REPL face: `ml-validate-e2e` in a Zorora session (command.py: its registration and command class;
invocation.py: one execution of it: parse, resolve, confirm, validate, verdict)."""
