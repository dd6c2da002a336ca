"""One Settings object for a run: flags > environment > defaults.

Everything a run needs is resolved here, once, so that the runner never reads
the environment and the REPL command never has to change it.
"""

from __future__ import annotations

import base64
import dataclasses
import ipaddress
import os
import re
import secrets
from datetime import datetime, timezone
from typing import Any, FrozenSet, Mapping, Optional
from urllib.parse import unquote, urlsplit, urlunsplit

TEST_CUSTOMER_PREFIX = "zorora-e2e-test-"
DEFAULT_ACTOR = "zorora-validation-bot"
DEFAULT_BUCKET = "sa-api-client-output"
DEFAULT_REGION = "af-south-1"
DEFAULT_TOKEN_PARAMETER = "/ona-platform/prod/global-training-api-token"
DEFAULT_TIMEOUT = 10.0
DEFAULT_DEADLINE = 300.0
ALL_PHASES = frozenset(range(6))

_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$")
_REGION_RE = re.compile(r"[a-z]{2}(-[a-z]+)+-\d{1,2}")
CUSTOMER_ID_RE = re.compile(r"^[A-Za-z0-9._\-]+$")


class SettingsError(Exception):
    """A setting is missing or malformed; the message says what to set and how."""


def default_customer_id(now: Optional[datetime] = None) -> str:
    now = now or datetime.now(timezone.utc)
    return f"{TEST_CUSTOMER_PREFIX}{now.strftime('%Y%m%d%H%M%S')}-{secrets.token_hex(3)}"


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
    return urlunsplit((parts.scheme, netloc, parts.path, "***" if parts.query else "",
                       "***" if parts.fragment else ""))


def url_secrets(url: Optional[str]) -> list:
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
    return [parts.password, parts.username, user, password,
            base64.b64encode(f"{user}:{password}".encode("utf-8")).decode("ascii")]


# --------------------------------------------------------------------------- values that go into HTTP headers
# http.client sends header values as Latin-1 (ISO-8859-1), one byte a character: a value with a character
# beyond U+00FF cannot be sent at all (UnicodeEncodeError deep in a run), and a control character (CR, LF,
# NUL, ...) is refused by requests (InvalidHeader, whose message quotes the whole value). Both are judged
# when the settings are read, before anything is written.

_CONTROL_NAMES = {"\r": "a carriage return (\\r)", "\n": "a line feed (\\n)", "\t": "a tab (\\t)", "\x00": "a NUL (\\x00)"}


def _is_control(char: str) -> bool:
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
        if _is_control(char):
            fix = ("remove it (a token file saved on Windows, or a value pasted with its line ending, carries one)"
                   if secret else "remove it")
            raise SettingsError(f"{setting}{shown} contains {_control_name(char)} {where}: it cannot be sent in the "
                                f"{header} header; {fix}")
        if ord(char) > 0xFF:
            fix = "check that it was copied whole and unchanged" if secret else f"use e.g. {_ascii_hint(value)!r}"
            raise SettingsError(f"{setting}{shown} cannot be sent in the {header} header: HTTP header values are "
                                f"Latin-1 (ISO-8859-1), and it contains {_char(char)} {where}; {fix}")
    return value


def _char(char: str) -> str:
    import unicodedata

    return f"U+{ord(char):04X} {unicodedata.name(char, '')}".rstrip()


def _shown(value: str) -> str:
    from .redact import neutralise

    return "'" + neutralise(value) + "'"


def _ascii_hint(value: str) -> str:
    import unicodedata

    special = {"Ł": "L", "ł": "l", "Đ": "D", "đ": "d", "Ø": "O", "ø": "o", "ß": "ss", "Æ": "AE", "æ": "ae"}
    text = "".join(special.get(c, c) for c in value)
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return text.strip() or "zorora-validation-bot"


@dataclasses.dataclass(frozen=True)
class Storage:
    """What it takes to reach the bucket (a run's, or a sweep's, which needs no API)."""

    bucket: str = DEFAULT_BUCKET
    region: str = DEFAULT_REGION
    s3_endpoint_url: Optional[str] = None
    aws_access_key_id: Optional[str] = dataclasses.field(default=None, repr=False)
    aws_secret_access_key: Optional[str] = dataclasses.field(default=None, repr=False)
    aws_session_token: Optional[str] = dataclasses.field(default=None, repr=False)
    timeout: float = DEFAULT_TIMEOUT

    @property
    def secrets(self) -> tuple:
        """Values that must never be printed: the secret key, the session token, the endpoint's credentials."""
        values = [self.aws_secret_access_key, self.aws_session_token, *url_secrets(self.s3_endpoint_url)]
        return tuple(v for v in dict.fromkeys(values) if v)


@dataclasses.dataclass(frozen=True)
class Settings:
    base_url: str
    token: str = dataclasses.field(repr=False)
    customer_id: str
    actor: str = DEFAULT_ACTOR
    bucket: str = DEFAULT_BUCKET
    region: str = DEFAULT_REGION
    use_iam: bool = False
    s3_endpoint_url: Optional[str] = None
    aws_access_key_id: Optional[str] = dataclasses.field(default=None, repr=False)
    aws_secret_access_key: Optional[str] = dataclasses.field(default=None, repr=False)
    aws_session_token: Optional[str] = dataclasses.field(default=None, repr=False)
    timeout: float = DEFAULT_TIMEOUT
    deadline: float = DEFAULT_DEADLINE
    phases: FrozenSet[int] = ALL_PHASES
    keep_data: bool = False
    client: str = "auto"
    json_path: Optional[str] = None
    junit_path: Optional[str] = None
    assume_yes: bool = False
    no_color: bool = False
    sandbox: bool = False
    fresh_customer: bool = False  # the customer id was made for this run: whatever is under it, the run caused

    def __repr__(self) -> str:  # the URLs without credentials; the secret fields are repr=False
        shown = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.repr}
        shown["base_url"] = self.display_url
        if self.s3_endpoint_url:
            shown["s3_endpoint_url"] = redact_url(self.s3_endpoint_url)
        return "Settings(" + ", ".join(f"{name}={value!r}" for name, value in shown.items()) + ")"

    @property
    def preflight_only(self) -> bool:
        return self.phases == frozenset({0})

    @property
    def writes_data(self) -> bool:
        """True when the run writes a test world (anything beyond the preflight probe)."""
        return bool(self.phases - {0})

    @property
    def is_local(self) -> bool:
        """A sandbox, or a target on loopback: no confirmation needed before writing."""
        if self.sandbox:
            return True
        # both ends: a tunnel to the real API on 127.0.0.1 with the real S3 is not local
        return _is_loopback(self.base_url) and bool(self.s3_endpoint_url) and _is_loopback(self.s3_endpoint_url)

    @property
    def storage(self) -> Storage:
        return Storage(self.bucket, self.region, self.s3_endpoint_url, self.aws_access_key_id,
                       self.aws_secret_access_key, self.aws_session_token, self.timeout)

    @property
    def display_url(self) -> str:
        return redact_url(self.base_url)

    @property
    def secrets(self) -> tuple:
        """Values that must never be printed or written to a report (each in every form: see redact.py)."""
        values = [self.token, *url_secrets(self.base_url), *self.storage.secrets]
        return tuple(v for v in dict.fromkeys(values) if v)


def _is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def expand_phases(requested) -> FrozenSet[int]:
    """`--phase N` runs N plus what it needs: 0 as the gate, 1 for 2-4, 5 when anything is written."""
    wanted = set(requested or ALL_PHASES)
    bad = sorted(p for p in wanted if p not in ALL_PHASES)
    if bad:
        raise SettingsError(f"--phase must be between 0 and 5 (got {bad[0]})")
    wanted.add(0)
    if wanted & {2, 3, 4}:
        wanted.add(1)
    if 1 in wanted:
        wanted.add(5)
    return frozenset(wanted)


def _truthy(value: Any) -> bool:
    return str(value).strip().lower() in ("1", "true", "yes", "on")


def _positive_float(name: str, flag: str, value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise SettingsError(f"{flag} must be a number of seconds (got {value!r})") from None
    if not number > 0 or number != number:
        raise SettingsError(f"{flag} must be a positive number of seconds (got {value!r})")
    if number > 86400:
        raise SettingsError(f"{flag} must be at most 86400 seconds (got {value!r})")
    return number


_EXAMPLE_URL = "https://<api-id>.execute-api.af-south-1.amazonaws.com/prod/api/v1"


def _check_host(parts, setting: str) -> None:
    try:
        parts.hostname.encode("idna")
    except UnicodeError:
        raise SettingsError(f"{setting}: the host name {_shown(parts.hostname)} is not a valid "
                            "internationalised domain name") from None


def _check_url(url: str, setting: str = "ONA_API_BASE_URL") -> str:
    if any(_is_control(c) or c.isspace() for c in url.strip()):
        raise SettingsError(f"{setting} must not contain spaces or control characters; set it to e.g. {_EXAMPLE_URL}")
    url = url.strip()
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        raise SettingsError(f"{setting} is not a valid URL ({exc}); "
                            f"set --base-url or ONA_API_BASE_URL to e.g. {_EXAMPLE_URL}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SettingsError(f"{setting} must be an http(s) URL with a host (got {redact_url(url)!r}); "
                            f"e.g. {_EXAMPLE_URL}")
    if parts.username is not None or parts.password is not None:
        raise SettingsError(f"{setting} must not carry credentials (got {redact_url(url)!r}): requests would send "
                            "them as Basic auth in place of the bearer token. Remove the user:password@ part and "
                            "pass the token with ONA_API_TOKEN, --token or --token-from-ssm")
    if parts.query or parts.fragment or url.endswith(("?", "#")):
        raise SettingsError(f"{setting} must not carry a query or fragment (got {redact_url(url)!r}): Zorora's "
                            "client joins paths onto the base URL and drops it, and a token in it would be printed. "
                            "Remove the ?... part; pass the token with ONA_API_TOKEN, --token or --token-from-ssm")
    _check_host(parts, setting)
    return url.rstrip("/")


def _check_report_path(path: Any, flag: str) -> Optional[str]:
    """A report path that can be written, checked before anything runs: a run whose report cannot be written
    must not promote and roll back first."""
    if path is None:
        return None
    path = str(path)
    if not path.strip():
        raise SettingsError(f"{flag} needs a file path")
    if os.path.isdir(path):
        raise SettingsError(f"{flag} {path!r} is a directory: give a file path, e.g. {path.rstrip('/')}/zorora-e2e"
                            + (".json" if flag == "--json" else ".xml"))
    existed = os.path.lexists(path)
    try:
        with open(path, "a", encoding="utf-8"):
            pass
    except OSError as exc:
        raise SettingsError(f"cannot write {flag} {path!r}: {exc.strerror or exc}; choose a path in a directory "
                            "that exists and that you can write to") from None
    if not existed:
        try:
            os.remove(path)
        except OSError:
            pass
    return path


def _picker(flags: Mapping[str, Any], env: Mapping[str, str]):
    def pick(flag: str, *env_names: str, default: Any = None) -> Any:
        value = flags.get(flag)
        if value is not None:
            return value
        for name in env_names:
            if env.get(name):
                return env[name]
        return default
    return pick


def resolve_storage(flags: Mapping[str, Any], env: Mapping[str, str]) -> Storage:
    """Bucket, region, S3 endpoint, credentials and timeout: flags > env > defaults."""
    pick = _picker(flags, env)
    bucket = str(pick("bucket", "OUTPUT_BUCKET", default=DEFAULT_BUCKET))
    if not _BUCKET_RE.fullmatch(bucket):
        raise SettingsError(f"{bucket!r} is not a valid S3 bucket name; set --bucket or OUTPUT_BUCKET "
                            f"to the Lambda's OUTPUT_BUCKET (default {DEFAULT_BUCKET})")
    s3_endpoint_url = pick("s3_endpoint_url", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL")
    if s3_endpoint_url:
        try:
            parts = urlsplit(str(s3_endpoint_url))
            parts.port  # noqa: B018 - raises ValueError on a bad port
        except ValueError as exc:
            raise SettingsError(f"S3 endpoint {redact_url(str(s3_endpoint_url))!r} is not a valid URL ({exc}) "
                                "(--s3-endpoint-url / AWS_ENDPOINT_URL_S3)") from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise SettingsError(f"S3 endpoint {redact_url(str(s3_endpoint_url))!r} must be an http(s) URL "
                                "(--s3-endpoint-url / AWS_ENDPOINT_URL_S3)")
        if any(_is_control(c) or c.isspace() for c in str(s3_endpoint_url)):
            raise SettingsError("the S3 endpoint (--s3-endpoint-url / AWS_ENDPOINT_URL_S3) must not contain spaces "
                                "or control characters")
        _check_host(parts, "the S3 endpoint (--s3-endpoint-url / AWS_ENDPOINT_URL_S3)")
    region = str(pick("region", "AWS_REGION", "AWS_DEFAULT_REGION", default=DEFAULT_REGION))
    if not _REGION_RE.fullmatch(region):
        raise SettingsError(f"{region!r} is not an AWS region; set --region/AWS_REGION to the bucket's region "
                            f"(e.g. {DEFAULT_REGION})")
    return Storage(
        bucket=bucket,
        region=region,
        s3_endpoint_url=str(s3_endpoint_url) if s3_endpoint_url else None,
        aws_access_key_id=flags.get("aws_access_key_id") or env.get("AWS_ACCESS_KEY_ID") or None,
        aws_secret_access_key=flags.get("aws_secret_access_key") or env.get("AWS_SECRET_ACCESS_KEY") or None,
        aws_session_token=env.get("AWS_SESSION_TOKEN") or None,
        timeout=_positive_float("timeout", "--timeout", pick("timeout", "ZORORA_E2E_TIMEOUT", default=DEFAULT_TIMEOUT)),
    )


def resolve(flags: Mapping[str, Any], env: Mapping[str, str], *, token_reader=None) -> Settings:
    """Build Settings from command-line flags (None = not given), then env, then defaults.

    `token_reader(name, region)` fetches the token from SSM when flags["token_from_ssm"] is set;
    it is a parameter so that the REPL and tests can supply their own.
    """
    pick = _picker(flags, env)
    region = pick("region", "AWS_REGION", "AWS_DEFAULT_REGION", default=DEFAULT_REGION)

    base_url = pick("base_url", "ONA_API_BASE_URL")
    if not base_url:
        raise SettingsError("No ONA API URL: set ONA_API_BASE_URL (or pass --base-url), e.g. "
                            "https://<api-id>.execute-api.af-south-1.amazonaws.com/prod/api/v1 — "
                            "or try the local sandbox with `zorora-e2e demo`")
    base_url = _check_url(str(base_url))

    use_iam = _truthy(pick("use_iam", "ONA_USE_IAM", default="false"))
    token = flags.get("token")
    token_setting = flags.get("token_setting") or "--token"  # the REPL passes the token its client holds
    ssm_name = flags.get("token_from_ssm")
    if token is None and ssm_name:
        if token_reader is None:
            from .ssm import read_token as token_reader  # boto3 only when asked for
        # a value pasted into SSM with its line ending: surrounding whitespace is never part of a token
        token = str(token_reader(ssm_name, region) or "").strip()
        token_setting = f"the SSM parameter {ssm_name}"
    if token is None:
        token = env.get("ONA_API_TOKEN", "").strip()  # `export ONA_API_TOKEN="$(cat token.txt)"` keeps a \r
        token_setting = "ONA_API_TOKEN"
    token = str(token or "")
    if token and not use_iam:
        check_header_value(token, token_setting, "Authorization", secret=True)
    if not token and not use_iam:
        raise SettingsError("No API token: set ONA_API_TOKEN (or pass --token, or --token-from-ssm "
                            f"to read {DEFAULT_TOKEN_PARAMETER}); "
                            "e.g. source <(./scripts/get-global-training-api-credentials.sh)")

    picked_customer = pick("customer_id", "TEST_CUSTOMER_ID")
    customer_id = picked_customer or default_customer_id()
    customer_id = str(customer_id)
    if not customer_id.startswith(TEST_CUSTOMER_PREFIX) or len(customer_id) == len(TEST_CUSTOMER_PREFIX):
        raise SettingsError(f"Refusing customer id {customer_id!r}: the validation writes, promotes and deletes "
                            f"data, so its customer id must start with {TEST_CUSTOMER_PREFIX!r} "
                            "(leave --customer-id/TEST_CUSTOMER_ID unset for a fresh one)")
    if not CUSTOMER_ID_RE.fullmatch(customer_id):
        raise SettingsError(f"Customer id {customer_id!r} may contain only letters, digits, '.', '_' and '-'")

    storage = resolve_storage(flags, env)

    actor = str(pick("actor", "TEST_ACTOR", default=DEFAULT_ACTOR)).strip()
    if not actor:
        raise SettingsError("--actor/TEST_ACTOR must not be empty")
    # the test actor goes into the X-Actor header as well as the JSON body (where UTF-8 would be fine)
    check_header_value(actor, "--actor" if flags.get("actor") is not None else "TEST_ACTOR", "X-Actor",
                       secret=False)
    if env.get("ZORORA_ACTOR"):  # Zorora's client (and the direct one) send it as X-Actor with every request
        check_header_value(env["ZORORA_ACTOR"], "ZORORA_ACTOR", "X-Actor", secret=False)

    client = str(pick("client", default="auto"))
    if client not in ("auto", "zorora", "direct"):
        raise SettingsError(f"--client must be auto, zorora or direct (got {client!r})")

    json_path = _check_report_path(flags.get("json_path"), "--json")
    junit_path = _check_report_path(flags.get("junit_path"), "--junit")
    if json_path and junit_path and os.path.abspath(json_path) == os.path.abspath(junit_path):
        raise SettingsError("--json and --junit name the same file; give each its own path")

    return Settings(
        base_url=base_url,
        token=token,
        customer_id=customer_id,
        fresh_customer=not picked_customer,
        actor=actor,
        bucket=storage.bucket,
        region=storage.region,
        use_iam=use_iam,
        s3_endpoint_url=storage.s3_endpoint_url,
        aws_access_key_id=storage.aws_access_key_id,
        aws_secret_access_key=storage.aws_secret_access_key,
        aws_session_token=storage.aws_session_token,
        timeout=storage.timeout,
        deadline=_positive_float("deadline", "--deadline", pick("deadline", "ZORORA_E2E_DEADLINE",
                                                                default=DEFAULT_DEADLINE)),
        phases=expand_phases(flags.get("phases")),
        keep_data=bool(flags.get("keep_data")),
        client=client,
        json_path=json_path,
        junit_path=junit_path,
        assume_yes=bool(flags.get("assume_yes")),
        no_color=bool(flags.get("no_color")) or bool(env.get("NO_COLOR")),
        sandbox=bool(flags.get("sandbox")),
    )
