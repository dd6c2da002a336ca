"""`zorora-e2e sandbox --env-file PATH`: the sandbox's environment in a file to source (`. PATH`) instead of
export lines to copy by hand. It holds the token and S3 keys: written 0600 (a temporary file in the same
folder, linked to PATH: never readable by others for a moment, never half-written), and removed when the sandbox
stops, if it is still the file written (not one put there since).

The sandbox removes only what it created: a PATH that exists (a file, a symlink, anything) is refused, never
overwritten, followed or removed. It may be the engineer's own `.env`; one a killed sandbox left is named as
such, and is theirs to remove."""

from __future__ import annotations

import errno
import os
import shlex
import tempfile

HEADER = "# zorora-e2e sandbox at "  # the first line of every file written here


class EnvFile:
    def __init__(self, path: str):
        self.path = os.path.abspath(os.path.expanduser(path))
        self._written: tuple[int, int] | None = None  # (st_dev, st_ino) of the file written

    def refusal(self) -> str:
        """Why PATH cannot be written ("" when it can): it exists, and only a new file is ever written."""
        if not os.path.lexists(self.path):
            return ""
        why = "the sandbox writes only a new file (and removes it when it stops), never one it did not create"
        if self._left_by_a_sandbox():
            why = (
                "a sandbox wrote it and was stopped before it could remove it (killed): remove it "
                f"(rm {shlex.quote(self.path)}) or choose another path"
            )
        else:
            why += ": choose another path"
        return f"{self.path} already exists; {why}"

    def _left_by_a_sandbox(self) -> bool:
        try:
            if os.path.islink(self.path) or not os.path.isfile(self.path):
                return False
            with open(self.path, encoding="utf-8", errors="replace") as handle:
                return handle.readline().startswith(HEADER)
        except OSError:
            return False

    def write(self, env: dict[str, str], url: str) -> None:
        """Raises OSError (with what went wrong) when the file cannot be written, FileExistsError when PATH
        exists (whatever it is: it is left as it is)."""
        folder = os.path.dirname(self.path)
        text = f"{HEADER}{url}; removed when it stops\n"
        text += "".join(f"export {name}={shlex.quote(value)}\n" for name, value in env.items())
        fd, temporary = tempfile.mkstemp(prefix=".zorora-e2e-env-", dir=folder)  # mode 0600
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
            os.chmod(temporary, 0o600)
            try:
                os.link(temporary, self.path)  # atomic, and never over an existing PATH (a symlink is not followed)
            except OSError as exc:
                if exc.errno == errno.EEXIST:
                    raise FileExistsError(errno.EEXIST, self.refusal() or "already exists") from None
                self._create_in_place(text)  # a file system without hard links: O_EXCL, 0600 from the start
        finally:
            try:
                os.unlink(temporary)
            except OSError:
                pass
        st = os.stat(self.path)
        self._written = (st.st_dev, st.st_ino)

    def _create_in_place(self, text: str) -> None:
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)

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
