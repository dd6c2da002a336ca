"""One Settings object for a run: flags > environment > defaults.

Everything a run needs is resolved here, once, so that the runner never reads
the environment and the REPL command never has to change it. Where S3 is lives in
a `Storage` (what a sweep needs too), which `Settings` holds; the checks each value
goes through (header values, URLs, report paths, durations) are in checks.py.
"""

from __future__ import annotations

import dataclasses
import re
import secrets
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Callable

from .checks import (
    Outputs,
    SettingsError,
    bearer_scheme,
    check_endpoint_url,
    check_header_value,
    check_report_path,
    check_url,
    is_loopback,
    positive_float,
    redact_url,
    report_outputs,
    url_secrets,
)
from .faces import CLI, NO_TARGET, Face, Target
from .metrics import MetricsSettings, metrics_from
from .readiness_target import ReadinessTarget, target_from

if TYPE_CHECKING:
    from .flags import RunFlags, SweepFlags

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
AS_GIVEN = {"as given": "resolve copies the flags.RunFlags field of the same name"}  # a Settings field's metadata


def default_customer_id(now: datetime | None = None) -> str:
    now = now or datetime.now(timezone.utc)
    return f"{TEST_CUSTOMER_PREFIX}{now.strftime('%Y%m%d%H%M%S')}-{secrets.token_hex(3)}"


@dataclasses.dataclass(frozen=True)
class Storage:
    """What it takes to reach the bucket (a run's, or a sweep's, which needs no API)."""

    bucket: str = DEFAULT_BUCKET
    region: str = DEFAULT_REGION
    s3_endpoint_url: str | None = None
    aws_access_key_id: str | None = dataclasses.field(default=None, repr=False)
    aws_secret_access_key: str | None = dataclasses.field(default=None, repr=False)
    aws_session_token: str | None = dataclasses.field(default=None, repr=False)
    timeout: float = DEFAULT_TIMEOUT

    def __repr__(self) -> str:  # the endpoint without credentials; the secret fields are repr=False
        return "Storage(" + ", ".join(f"{name}={value!r}" for name, value in self.shown().items()) + ")"

    def shown(self) -> dict:
        """The fields that may be printed, the endpoint URL redacted."""
        shown = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.repr}
        if self.s3_endpoint_url:
            shown["s3_endpoint_url"] = redact_url(self.s3_endpoint_url)
        return shown

    @property
    def secrets(self) -> tuple:
        """Values that must never be printed: the secret key, the session token, the endpoint's credentials."""
        values = [self.aws_secret_access_key, self.aws_session_token, *url_secrets(self.s3_endpoint_url)]
        return tuple(v for v in dict.fromkeys(values) if v)


def _from_storage(name: str) -> property:
    return property(lambda self: getattr(self.storage, name), doc=f"storage.{name}")


@dataclasses.dataclass(frozen=True)
class Settings:
    """A run's settings. Where S3 is (bucket, region, endpoint, credentials) and the per-request timeout are
    its `storage`; `settings.bucket`, `settings.region`, ... read through to it."""

    base_url: str
    token: str = dataclasses.field(repr=False)
    customer_id: str
    actor: str = DEFAULT_ACTOR
    storage: Storage = dataclasses.field(default_factory=Storage)
    use_iam: bool = False
    deadline: float = DEFAULT_DEADLINE
    phases: frozenset[int] = ALL_PHASES
    keep_data: bool = dataclasses.field(default=False, metadata=AS_GIVEN)
    client: str = "auto"
    json_path: str | None = None
    junit_path: str | None = None
    assume_yes: bool = dataclasses.field(default=False, metadata=AS_GIVEN)
    no_color: bool = False
    sandbox: bool = False
    fresh_customer: bool = False  # the customer id was made for this run: whatever is under it, the run caused
    face: Face = CLI  # whose words the hints are in: zorora-e2e's flags, or what a Zorora session can change
    readiness_for: ReadinessTarget | None = None  # --for: whose promotion the readiness phase checks
    outputs: Outputs = dataclasses.field(default_factory=Outputs)  # --html, --har, --summary-md, --log-requests
    metrics: MetricsSettings | None = None  # --metrics: where the run's metrics go (None: nowhere)
    notes: tuple[str, ...] = ()  # what the settings changed of what was given, for the face to say before the run

    bucket = _from_storage("bucket")
    region = _from_storage("region")
    s3_endpoint_url = _from_storage("s3_endpoint_url")
    aws_access_key_id = _from_storage("aws_access_key_id")
    aws_secret_access_key = _from_storage("aws_secret_access_key")
    aws_session_token = _from_storage("aws_session_token")
    timeout = _from_storage("timeout")

    def __repr__(self) -> str:  # the URLs without credentials; the secret fields are repr=False
        shown = {}
        for f in dataclasses.fields(self):
            if f.name == "storage":
                shown.update(self.storage.shown())
            elif f.repr:
                shown[f.name] = getattr(self, f.name)
        shown["base_url"] = self.display_url
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
        return is_loopback(self.base_url) and bool(self.s3_endpoint_url) and is_loopback(self.s3_endpoint_url)

    @property
    def display_url(self) -> str:
        return redact_url(self.base_url)

    @property
    def secrets(self) -> tuple:
        """Values that must never be printed or written to a report (each in every form: see core/redact.py). A
        token Zorora holds with its scheme ('Bearer …') is secret after the scheme: every 8-character piece of a
        secret is masked, and 'Bearer t' would mask the words "bearer token"."""
        token = self.token[len(bearer_scheme(self.token)) :] if self.token else self.token
        values = [token, *url_secrets(self.base_url), *self.storage.secrets]
        return tuple(v for v in dict.fromkeys(values) if v)


def expand_phases(requested: Iterable[int] | None) -> frozenset[int]:
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


def _picker(flags: RunFlags | SweepFlags, target: Target, env: Mapping[str, str]) -> Callable[..., Any]:
    """pick(name, *env_names): what the face's target decides, else the flag, else the environment."""

    def pick(name: str, *env_names: str, default: Any = None) -> Any:
        for given in (getattr(target, name, None), getattr(flags, name, None)):
            if given is not None:
                return given
        for env_name in env_names:
            if env.get(env_name):
                return env[env_name]
        return default

    return pick


def resolve_storage(
    flags: RunFlags | SweepFlags, env: Mapping[str, str], *, target: Target = NO_TARGET, face: Face = CLI
) -> Storage:
    """Bucket, region, S3 endpoint, credentials and timeout: target > flags > env > defaults. `flags`: a
    flags.RunFlags or SweepFlags."""
    pick = _picker(flags, target, env)
    bucket = str(pick("bucket", "OUTPUT_BUCKET", default=DEFAULT_BUCKET))
    if not _BUCKET_RE.fullmatch(bucket):
        raise SettingsError(
            f"{bucket!r} is not a valid S3 bucket name; set --bucket or OUTPUT_BUCKET "
            f"to the Lambda's OUTPUT_BUCKET (default {DEFAULT_BUCKET})"
        )
    s3_endpoint_url = pick("s3_endpoint_url", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL")
    if s3_endpoint_url:
        check_endpoint_url(str(s3_endpoint_url), face=face)
    region = str(pick("region", "AWS_REGION", "AWS_DEFAULT_REGION", default=DEFAULT_REGION))
    if not _REGION_RE.fullmatch(region):
        raise SettingsError(
            f"{region!r} is not an AWS region; set {face.region} to the bucket's region (e.g. {DEFAULT_REGION})"
        )
    return Storage(
        bucket=bucket,
        region=region,
        s3_endpoint_url=str(s3_endpoint_url) if s3_endpoint_url else None,
        aws_access_key_id=target.aws_access_key_id or env.get("AWS_ACCESS_KEY_ID") or None,
        aws_secret_access_key=target.aws_secret_access_key or env.get("AWS_SECRET_ACCESS_KEY") or None,
        aws_session_token=env.get("AWS_SESSION_TOKEN") or None,
        timeout=positive_float("--timeout", pick("timeout", "ZORORA_E2E_TIMEOUT", default=DEFAULT_TIMEOUT)),
    )


def _read_ssm_token(token_reader: Callable[[str, str], str] | None, name: str, region: str) -> str:
    if token_reader is not None:
        return token_reader(name, region)
    from .ssm import SsmError, read_token  # boto3 only when asked for

    try:
        return read_token(name, region)
    except SsmError as exc:
        raise SettingsError(str(exc)) from None


def resolve(
    flags: RunFlags,
    env: Mapping[str, str],
    *,
    target: Target = NO_TARGET,
    face: Face = CLI,
    token_reader: Callable[[str, str], str] | None = None,
) -> Settings:
    """Build Settings from the face's `target` (the REPL's client, a sandbox), the command-line `flags`
    (flags.RunFlags; None = not given), then env, then defaults; every message in the `face`'s words.

    `token_reader(name, region)` fetches the token from SSM when flags.token_from_ssm is set;
    it is a parameter so that the REPL and tests can supply their own.
    """
    pick = _picker(flags, target, env)
    region = pick("region", "AWS_REGION", "AWS_DEFAULT_REGION", default=DEFAULT_REGION)

    base_url = pick("base_url", "ONA_API_BASE_URL")
    if not base_url:
        raise SettingsError(
            f"No ONA API URL: set ONA_API_BASE_URL {face.no_base_url}, e.g. "
            "https://<api-id>.execute-api.af-south-1.amazonaws.com/prod/api/v1 — "
            f"or try the local sandbox with {face.demo}"
        )
    base_url = check_url(str(base_url), target.base_url_setting, face=face)

    use_iam = _truthy(pick("use_iam", "ONA_USE_IAM", default="false"))
    token = pick("token")
    token_setting = target.token_setting  # the REPL passes the token its client holds
    ssm_name = None if target.token is not None else flags.token_from_ssm
    if token is None and ssm_name:
        # a value pasted into SSM with its line ending: surrounding whitespace is never part of a token
        token = str(_read_ssm_token(token_reader, ssm_name, region) or "").strip()
        token_setting = f"the SSM parameter {ssm_name}"
    if token is None:
        token = env.get("ONA_API_TOKEN", "").strip()  # `export ONA_API_TOKEN="$(cat token.txt)"` keeps a \r
        token_setting = "ONA_API_TOKEN"
    token = str(token or "")
    notes = []
    scheme = bearer_scheme(token) if target.token is None else ""  # the REPL's client sends its token as it is
    if scheme and not use_iam:
        token = token[len(scheme) :].strip()
        zorora = (
            " (Zorora's ml-* commands send it as it is: 'Bearer Bearer …', which the Lambda refuses)"
            if token_setting == "ONA_API_TOKEN"
            else ""
        )
        notes.append(
            f"{token_setting} starts with the scheme {scheme.strip()!r}: the run sends the token without "
            f"it, as the client adds 'Bearer ' itself; set it to the token alone{zorora}"
        )
    if token and not use_iam:
        check_header_value(token, token_setting, "Authorization", secret=True)
    if not token and not use_iam:
        how = face.no_token.format(ssm_parameter=DEFAULT_TOKEN_PARAMETER)
        raise SettingsError(
            f"No API token: set ONA_API_TOKEN {how}; e.g. source <(./scripts/get-global-training-api-credentials.sh)"
        )

    picked_customer = pick("customer_id", "TEST_CUSTOMER_ID")
    customer_id = str(picked_customer or default_customer_id())
    if not customer_id.startswith(TEST_CUSTOMER_PREFIX) or len(customer_id) == len(TEST_CUSTOMER_PREFIX):
        raise SettingsError(
            f"Refusing customer id {customer_id!r}: the validation writes, promotes and deletes "
            f"data, so its customer id must start with {TEST_CUSTOMER_PREFIX!r} "
            "(leave --customer-id/TEST_CUSTOMER_ID unset for a fresh one)"
        )
    if not CUSTOMER_ID_RE.fullmatch(customer_id):
        raise SettingsError(f"Customer id {customer_id!r} may contain only letters, digits, '.', '_' and '-'")

    storage = resolve_storage(flags, env, target=target, face=face)

    actor = str(pick("actor", "TEST_ACTOR", default=DEFAULT_ACTOR)).strip()
    if not actor:
        raise SettingsError("--actor/TEST_ACTOR must not be empty")
    # the test actor goes into the X-Actor header as well as the JSON body (where UTF-8 would be fine)
    check_header_value(actor, "--actor" if flags.actor is not None else "TEST_ACTOR", "X-Actor", secret=False)
    if env.get("ZORORA_ACTOR"):  # Zorora's client (and the direct one) send it as X-Actor with every request
        check_header_value(env["ZORORA_ACTOR"], "ZORORA_ACTOR", "X-Actor", secret=False)

    client = str(pick("client", default="auto"))
    if client not in ("auto", "zorora", "direct"):
        raise SettingsError(f"--client must be auto, zorora or direct (got {client!r})")

    json_path = check_report_path(flags.json_path, "--json")
    junit_path = check_report_path(flags.junit_path, "--junit")

    return Settings(
        base_url=base_url,
        token=token,
        customer_id=customer_id,
        fresh_customer=not picked_customer,
        actor=actor,
        storage=storage,
        use_iam=use_iam,
        deadline=positive_float("--deadline", pick("deadline", "ZORORA_E2E_DEADLINE", default=DEFAULT_DEADLINE)),
        phases=expand_phases(flags.phases),
        client=client,
        json_path=json_path,
        junit_path=junit_path,
        no_color=bool(flags.no_color) or bool(env.get("NO_COLOR")),
        sandbox=target.sandbox,
        face=face,
        **{f.name: getattr(flags, f.name) for f in dataclasses.fields(Settings) if f.metadata == AS_GIVEN},
        readiness_for=target_from(flags.readiness_for, run_customer=customer_id, phases=flags.phases),
        outputs=report_outputs(flags, env, {"--json": json_path, "--junit": junit_path}),  # no two on one file
        metrics=metrics_from(flags, env),
        notes=tuple(notes),
    )
