"""The checks behind the settings: values that go into HTTP headers, URLs, report paths, durations.

Each raises SettingsError with what to set and how; none reads the environment. Also here: the URL
redaction every printed URL goes through, and what a URL's user:password part reveals.
"""

from __future__ import annotations

import base64
import dataclasses
import ipaddress
import os
import re
import stat
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import SplitResult, unquote, urlsplit, urlunsplit

from .faces import CLI, Face

if TYPE_CHECKING:
    from .flags import RunFlags
    from .settings import Settings


class SettingsError(Exception):
    """A setting is missing or malformed; the message says what to set and how."""


def redact_url(url: str) -> str:
    """The URL without any user:password part, query or fragment (either may carry a token), safe to print."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return "<unparseable URL>"
    if parts.username is None and parts.password is None and not parts.query and not parts.fragment:
        return url
    netloc = parts.netloc.rpartition("@")[2]
    if parts.username is not None or parts.password is not None:
        netloc = "***@" + netloc
    return urlunsplit((parts.scheme, netloc, parts.path, "***" if parts.query else "", "***" if parts.fragment else ""))


def url_secrets(url: str | None) -> list:
    """What a URL's user:password part reveals: the password, the user (when there is a password), and the
    Basic-auth header value requests would make of them (a server may echo that header back)."""
    if not url:
        return []
    try:
        parts = urlsplit(url)
    except ValueError:
        return [url]  # cannot tell its parts: the whole URL is the secret
    if not parts.password:
        return []
    user, password = unquote(parts.username or ""), unquote(parts.password)
    return [
        parts.password,
        parts.username,
        user,
        password,
        base64.b64encode(f"{user}:{password}".encode()).decode("ascii"),
    ]


def own_ids(settings: Settings) -> tuple:
    """What a run prints in its commands and the redactor never masks: its customer id, bucket, API and S3
    endpoint (an endpoint that carries credentials is not one of them)."""
    endpoint = settings.s3_endpoint_url if not url_secrets(settings.s3_endpoint_url) else None
    return tuple(v for v in (settings.customer_id, settings.bucket, settings.base_url, endpoint) if v)


# --------------------------------------------------------------------------- values that go into HTTP headers
# http.client sends header values as Latin-1 (ISO-8859-1), one byte a character: a value with a character
# beyond U+00FF cannot be sent at all (UnicodeEncodeError deep in a run), and a control character (CR, LF,
# NUL, ...) is refused by requests (InvalidHeader, whose message quotes the whole value). Both are judged
# when the settings are read, before anything is written.

_CONTROL_NAMES = {
    "\r": "a carriage return (\\r)",
    "\n": "a line feed (\\n)",
    "\t": "a tab (\\t)",
    "\x00": "a NUL (\\x00)",
}


def is_control(char: str) -> bool:
    code = ord(char)
    return code < 0x20 or 0x7F <= code <= 0x9F


def _control_name(char: str) -> str:
    return _CONTROL_NAMES.get(char, f"the control character U+{ord(char):04X}")


def check_header_value(value: str, setting: str, header: str, *, secret: bool) -> str:
    """`value` as it can go into the `header` HTTP header, or SettingsError naming `setting` and what to fix.
    A secret is never quoted back: only the position and the kind of the offending character."""
    shown = "" if secret else f" {_shown(value)}"
    for index, char in enumerate(value):
        where = f"at position {index + 1} of {len(value)}"
        if is_control(char):
            fix = (
                "remove it (a token file saved on Windows, or a value pasted with its line ending, carries one)"
                if secret
                else "remove it"
            )
            raise SettingsError(
                f"{setting}{shown} contains {_control_name(char)} {where}: it cannot be sent in the "
                f"{header} header; {fix}"
            )
        if ord(char) > 0xFF:
            fix = "check that it was copied whole and unchanged" if secret else f"use e.g. {_ascii_hint(value)!r}"
            raise SettingsError(
                f"{setting}{shown} cannot be sent in the {header} header: HTTP header values are "
                f"Latin-1 (ISO-8859-1), and it contains {_char(char)} {where}; {fix}"
            )
    return value


_SCHEME = re.compile(r"(?i)^\s*(?:authorization\s*:\s*)?(?:bearer\s+)+(?=\S)")


def bearer_scheme(token: str) -> str:
    """The header's words a token was pasted with ('Bearer ', 'Authorization: Bearer '), or "": the clients add
    'Bearer ' themselves, so such a token goes out as 'Bearer Bearer ...' and is refused."""
    match = _SCHEME.match(token or "")
    return match.group(0) if match else ""


def _char(char: str) -> str:
    import unicodedata

    return f"U+{ord(char):04X} {unicodedata.name(char, '')}".rstrip()


def _shown(value: str) -> str:
    from ..core.redact import neutralise

    return "'" + neutralise(value) + "'"


def _ascii_hint(value: str) -> str:
    import unicodedata

    special = {"Ł": "L", "ł": "l", "Đ": "D", "đ": "d", "Ø": "O", "ø": "o", "ß": "ss", "Æ": "AE", "æ": "ae"}
    text = "".join(special.get(c, c) for c in value)
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return text.strip() or "zorora-validation-bot"


def is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def positive_float(flag: str, value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise SettingsError(f"{flag} must be a number of seconds (got {value!r})") from None
    if not number > 0 or number != number:
        raise SettingsError(f"{flag} must be a positive number of seconds (got {value!r})")
    if number > 86400:
        raise SettingsError(f"{flag} must be at most 86400 seconds (got {value!r})")
    return number


API_PATH = "/api/v1"  # every route of the API is under it (stage /prod in front of it on AWS)
_EXAMPLE_URL = "https://<api-id>.execute-api.af-south-1.amazonaws.com/prod/api/v1"


def check_host(parts: SplitResult, setting: str) -> None:
    host = parts.hostname
    assert host is not None  # both callers refused a URL without a host first
    try:
        host.encode("idna")
    except UnicodeError:
        raise SettingsError(
            f"{setting}: the host name {_shown(host)} is not a valid internationalised domain name"
        ) from None


def check_url(url: str, setting: str = "ONA_API_BASE_URL", *, face: Face = CLI) -> str:
    """The API base URL: http(s), a host, no credentials, query or fragment, and a path ending in /api/v1
    (the routes are joined onto it). The fix is said in the `face`'s words (faces.py)."""
    set_it = face.set_base_url.format(example=_EXAMPLE_URL)
    token_how = face.pass_token
    if any(is_control(c) or c.isspace() for c in url.strip()):
        raise SettingsError(f"{setting} must not contain spaces or control characters; {set_it}")
    url = url.strip()
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        raise SettingsError(f"{setting} is not a valid URL ({exc}); {set_it}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SettingsError(f"{setting} must be an http(s) URL with a host (got {redact_url(url)!r}); {set_it}")
    if parts.username is not None or parts.password is not None:
        raise SettingsError(
            f"{setting} must not carry credentials (got {redact_url(url)!r}): requests would send "
            "them as Basic auth in place of the bearer token. Remove the user:password@ part and "
            f"pass the token with {token_how}"
        )
    if parts.query or parts.fragment or url.endswith(("?", "#")):
        raise SettingsError(
            f"{setting} must not carry a query or fragment (got {redact_url(url)!r}): Zorora's "
            "client joins paths onto the base URL and drops it, and a token in it would be printed. "
            f"Remove the ?... part; pass the token with {token_how}"
        )
    check_host(parts, setting)
    if not parts.path.rstrip("/").endswith(API_PATH):
        raise SettingsError(
            f"{setting} must be the API's base URL, whose path ends in {API_PATH} (got "
            f"{redact_url(url)!r}): the routes (/challengers, /promote, ...) are joined onto it. "
            f"{set_it[0].upper()}{set_it[1:]}"
        )
    return url.rstrip("/")


def check_report_path(path: Any, flag: str) -> str | None:
    """A report path that can be written, checked before anything runs: a run whose report cannot be written
    must not promote and roll back first. A new file or a regular one: a named pipe (FIFO) would block the run
    on opening it, beyond any signal, and a device or socket is no report."""
    if path is None:
        return None
    path = str(path)
    if not path.strip():
        raise SettingsError(f"{flag} needs a file path")
    suffix = {"--json": ".json", "--junit": ".xml", "--html": ".html", "--har": ".har"}.get(flag, ".md")
    example = f"e.g. {os.path.dirname(path.rstrip('/')) or '.'}/zorora-e2e" + suffix
    if os.path.isdir(path):
        raise SettingsError(
            f"{flag} {path!r} is a directory: give a file path, e.g. {path.rstrip('/')}/zorora-e2e" + suffix
        )
    kind = special_file(path)
    if kind:
        raise SettingsError(
            f"{flag} {path!r} is {kind}, not a regular file: a report is written to a file; give "
            f"the path of a new or regular file, {example}"
        )
    existed = os.path.lexists(path)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NONBLOCK", 0), 0o666)
        try:
            kind = special_file(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        raise SettingsError(
            f"cannot write {flag} {path!r}: {exc.strerror or exc}; choose a path in a directory "
            "that exists and that you can write to"
        ) from None
    if not existed:
        try:
            os.remove(path)
        except OSError:
            pass
    if kind:
        raise SettingsError(f"{flag} {path!r} is {kind}, not a regular file; give the path of a new or regular file")
    return path


def special_file(path: str | int) -> str:
    """What a path (or an open descriptor) is when it exists and is not a regular file ("a named pipe (FIFO)",
    "a device", ...), else "" (a regular file, or nothing there yet). Symlinks are followed."""
    try:
        mode = os.fstat(path).st_mode if isinstance(path, int) else os.stat(path).st_mode
    except OSError:
        return ""
    if stat.S_ISREG(mode):
        return ""
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISDIR(mode):
        return "a directory"
    return "not a regular file"


def same_file(first: str, second: str) -> bool:
    """Whether two paths name one file: the same path, a symlink to it, a hard link, `./` or `..` detours."""
    if os.path.realpath(first) == os.path.realpath(second):
        return True
    try:
        return os.path.samefile(first, second)
    except OSError:  # one of them does not exist yet: realpath has already said all there is
        return False


def check_endpoint_url(url: str, *, face: Face = CLI) -> str:
    """The S3 endpoint (--s3-endpoint-url / AWS_ENDPOINT_URL_S3): an http(s) URL with a valid host."""
    setting = face.s3_endpoint
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        raise SettingsError(f"S3 endpoint {redact_url(url)!r} is not a valid URL ({exc}) ({setting})") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SettingsError(f"S3 endpoint {redact_url(url)!r} must be an http(s) URL ({setting})")
    if any(is_control(c) or c.isspace() for c in url):
        raise SettingsError(f"the S3 endpoint ({setting}) must not contain spaces or control characters")
    check_host(parts, f"the S3 endpoint ({setting})")
    return url


SHARED_REPORTS = (("html_path", "--html"), ("har_path", "--har"), ("summary_md_path", "--summary-md"))


@dataclasses.dataclass(frozen=True)
class Outputs:
    """What a run leaves beside --json/--junit (artifacts/): the paths checked, and --log-requests."""

    html_path: str | None = None  # --html: the self-contained report
    har_path: str | None = None  # --har: every request as HAR 1.2
    summary_md_path: str | None = None  # --summary-md, or GITHUB_STEP_SUMMARY: the CI summary, appended to
    log_requests: bool = False  # one line per request the run sends (a sandbox's run: the sandbox's own log)


def report_outputs(flags: RunFlags, env: Mapping[str, str], checked: Mapping[str, str | None]) -> Outputs:
    """--html, --har and --summary-md (or GITHUB_STEP_SUMMARY, which CI sets), each checked like --json, and
    no two reports on the same file (--json and --junit included). `checked`: those two ({flag: path})."""
    paths = {flag: path for flag, path in checked.items() if path}
    for key, flag in (("", "--junit"),) + SHARED_REPORTS:
        if key:
            given, setting = getattr(flags, key), flag
            if given is None and key == "summary_md_path" and (env or {}).get("GITHUB_STEP_SUMMARY"):
                given, setting = os.path.expanduser(env["GITHUB_STEP_SUMMARY"]), "GITHUB_STEP_SUMMARY"
            path = check_report_path(given, setting)
        else:
            path = paths.pop(flag, None)
        if not path:
            continue
        for other, taken in paths.items():
            if same_file(taken, path):  # through a symlink, a hard link or a `..` detour too
                raise SettingsError(f"{other} and {flag} name the same file; give each its own path")
        paths[flag] = path
    return Outputs(paths.get("--html"), paths.get("--har"), paths.get("--summary-md"), bool(flags.log_requests))
