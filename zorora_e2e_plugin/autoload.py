"""Zero-touch registration: `ml-validate-e2e` appears when Zorora registers its ONA commands.

Zorora has no plugin discovery, so the wheel ships a `.pth` file (site-packages root) whose one
line calls `install()` at interpreter start-up unless ZORORA_E2E_AUTOLOAD=0. `install()` puts a
tiny finder at the front of `sys.meta_path` that ignores every import but
`zorora.commands.ona_platform`. When that module is imported, the finder removes itself, lets the
other finders find the real module, and wraps its loader so that, once the module has run,
`register_ona_commands` is replaced by a wrapper: the original runs first, then
`zorora_e2e_plugin.register(repl)`. Registration errors are logged and printed on one line, never
raised: Zorora starts as before.

Cost per start-up: importing this module (stdlib `sys` and `os` only, both already loaded) and
one string comparison per import afterwards.
"""

import os
import sys

TARGET = "zorora.commands.ona_platform"
ENV_SWITCH = "ZORORA_E2E_AUTOLOAD"
_WRAPPED = "__zorora_e2e_wrapped__"


def enabled(environ=None) -> bool:
    value = (os.environ if environ is None else environ).get(ENV_SWITCH, "1")
    return value.strip().lower() not in ("0", "false", "no", "off")


class _Finder:
    """Sees every import; acts once, on TARGET, then leaves sys.meta_path."""

    _zorora_e2e_finder = True

    def find_spec(self, fullname, path=None, target=None):
        if fullname != TARGET:
            return None
        _remove_finders()
        for finder in list(sys.meta_path):
            find_spec = getattr(finder, "find_spec", None)
            if find_spec is None:
                continue
            spec = find_spec(fullname, path, target)
            if spec is not None:
                break
        else:
            return None
        if spec.loader is not None and hasattr(spec.loader, "exec_module"):
            spec.loader = _Loader(spec.loader)
        return spec

    def invalidate_caches(self):
        pass


class _Loader:
    """The real loader, plus one step after the module body has run."""

    def __init__(self, loader):
        self._loader = loader

    def create_module(self, spec):
        create = getattr(self._loader, "create_module", None)
        return create(spec) if create is not None else None

    def exec_module(self, module):
        self._loader.exec_module(module)
        patch(module)

    def __getattr__(self, name):  # get_source, get_filename, is_package, ... for tracebacks and tools
        return getattr(self._loader, name)


def _remove_finders():
    sys.meta_path[:] = [f for f in sys.meta_path if not getattr(f, "_zorora_e2e_finder", False)]


def patch(module) -> bool:
    """Wrap `module.register_ona_commands` (idempotent). Returns True when it is wrapped."""
    original = getattr(module, "register_ona_commands", None)
    if original is None:
        return False
    if getattr(original, _WRAPPED, False):
        return True
    import functools

    @functools.wraps(original)
    def register_ona_commands(repl, *args, **kwargs):
        result = original(repl, *args, **kwargs)
        register_plugin(repl)
        return result

    setattr(register_ona_commands, _WRAPPED, True)
    module.register_ona_commands = register_ona_commands
    return True


def register_plugin(repl) -> None:
    """`zorora_e2e_plugin.register(repl)`, unless switched off; never raises."""
    if not enabled():
        return
    try:
        from . import register

        register(repl)
    except Exception as exc:  # never break Zorora's start-up
        import logging

        logging.getLogger("zorora_e2e_plugin").warning("ml-validate-e2e not registered: %r", exc, exc_info=True)
        try:
            sys.stderr.write(f"ml-validate-e2e not registered: {type(exc).__name__}: {exc}\n")
        except Exception:
            pass


def install() -> bool:
    """Arrange for registration (the `.pth` hook calls this). Returns False when switched off."""
    try:
        if not enabled():
            return False
        module = sys.modules.get(TARGET)
        if module is not None:
            return patch(module)
        if not any(getattr(f, "_zorora_e2e_finder", False) for f in sys.meta_path):
            sys.meta_path.insert(0, _Finder())
        return True
    except Exception:  # a start-up hook must never stop Python from starting
        return False


def uninstall() -> None:
    """Remove the finder (registration already wrapped into a loaded module stays)."""
    _remove_finders()
