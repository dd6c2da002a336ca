"""The package's version, in a module of its own: anything may import it without importing the package's face
(`__init__.py` registers the REPL command)."""

__version__ = "0.1.0"
