"""zorora-e2e-plugin: the `ml-validate-e2e` command for the Zorora REPL.

    import zorora_e2e_plugin
    zorora_e2e_plugin.register(repl)     # after register_ona_commands(repl)

Importing this package must stay cheap (no boto3, rich, requests or zorora): the
autoload hook imports it at every Python start-up in Zorora's environment.
"""

__version__ = "0.1.0"

COMMAND_NAME = "ml-validate-e2e"


def register(repl):
    """Register `ml-validate-e2e` with a Zorora REPL (through `repl.register_remote_command`).

    Imports the host's `zorora.remote_command` but nothing heavy (no boto3, no engine); starts
    nothing. Registering twice is a no-op. Returns the registered command.
    """
    from .repl_command import register as _register

    return _register(repl)


__all__ = ["COMMAND_NAME", "__version__", "register"]
