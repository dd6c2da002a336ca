"""zorora-e2e-plugin: the `ml-validate-e2e` command for the Zorora REPL.

    import zorora_e2e_plugin
    zorora_e2e_plugin.register(repl)     # after register_ona_commands(repl)

Importing this package must stay cheap (no boto3, rich, requests or zorora): the
autoload hook imports it at every Python start-up in Zorora's environment.
"""


def register(repl):
    """Register `ml-validate-e2e` with a Zorora REPL (through `repl.register_remote_command`).

    Imports the host's `zorora.remote_command` but nothing heavy (no boto3, no engine); starts
    nothing. Registering twice is a no-op. Returns the registered command.
    """
    from .repl.command import register as _register

    return _register(repl)


def __getattr__(name):
    """`COMMAND_NAME` (repl/command.py) and `__version__` (version.py), without importing them at start-up."""
    if name == "COMMAND_NAME":
        from .repl.command import COMMAND_NAME

        return COMMAND_NAME
    if name == "__version__":  # in version.py, which any module may import without this package's face
        from .version import __version__

        return __version__
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["COMMAND_NAME", "__version__", "register"]
