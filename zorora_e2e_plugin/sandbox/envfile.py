"""`zorora-e2e sandbox --env-file PATH`: the sandbox's environment in a file to source (`. PATH`) instead of
export lines to copy by hand. It holds the token and S3 keys: written 0600 (a temporary file in the same
folder, renamed over PATH: never readable by others for a moment, a symlink at PATH replaced, not followed),
and removed when the sandbox stops, if it is still the file written (not one put there since)."""

from __future__ import annotations

import os
import shlex
import tempfile
from typing import Dict, Optional, Tuple


class EnvFile:
    def __init__(self, path: str):
        self.path = os.path.abspath(os.path.expanduser(path))
        self._written: Optional[Tuple[int, int]] = None  # (st_dev, st_ino) of the file written

    def write(self, env: Dict[str, str], comment: str = "") -> None:
        """Raises OSError (with what went wrong) when the file cannot be written."""
        folder = os.path.dirname(self.path)
        text = "".join(f"# {line}\n" for line in comment.splitlines())
        text += "".join(f"export {name}={shlex.quote(value)}\n" for name, value in env.items())
        fd, temporary = tempfile.mkstemp(prefix=".zorora-e2e-env-", dir=folder)  # mode 0600
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
            os.chmod(temporary, 0o600)
            os.replace(temporary, self.path)
        except BaseException:
            try:
                os.unlink(temporary)
            except OSError:
                pass
            raise
        st = os.stat(self.path)
        self._written = (st.st_dev, st.st_ino)

    def remove(self) -> None:
        """Remove the file if it is still the one written (never raises)."""
        if self._written is None:
            return
        try:
            st = os.lstat(self.path)
            if (st.st_dev, st.st_ino) == self._written:
                os.unlink(self.path)
        except OSError:
            pass
        self._written = None


__all__ = ["EnvFile"]
