"""The two faces a run has, and what each decides: how it says "set X" (`Face`) and where it points the run
when it, not the flags, decides (`Target`).

    CLI    `zorora-e2e run | demo | sweep`: a flag or the environment
    REPL   `ml-validate-e2e` in a Zorora session: the environment Zorora started with, then a restart (its
           ONA client reads the base URL and the token once); no --base-url, --token-from-ssm, --region
           or --s3-endpoint-url

Settings' messages take the face's phrases where they are made (`settings.resolve`, `checks`); a diagnosis
holds slots (core/diagnosis.py), which the face fills when it shows the hint (`hint`): the runner as it
redacts each step's, the sweep its S3 hints.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..core.diagnosis import Diagnosis


@dataclasses.dataclass(frozen=True, repr=False)
class Face:
    """How one face names what the user can change, phrase by phrase."""

    name: str  # the command the user typed
    in_zorora: bool  # `ml-validate-e2e` inside a Zorora session
    set_base_url: str  # "{example}": an invoke URL
    no_base_url: str  # after "No ONA API URL: set ONA_API_BASE_URL "
    no_token: str  # after "No API token: set ONA_API_TOKEN "; "{ssm_parameter}": the default SSM name
    pass_token: str  # where a token goes instead of the URL
    region: str  # where the bucket's region is set
    s3_endpoint: str  # where the S3 endpoint is set
    demo: str  # the local sandbox's command
    slots: tuple[tuple[str, str], ...] = ()  # a diagnosis's slot (core/diagnosis.py SLOTS) -> this face's words

    def __repr__(self) -> str:
        return f"Face({self.name!r})"

    def sweep_command(
        self, customer_id: str, bucket: str, region: str | None = None, endpoint: str | None = None
    ) -> str:
        """The sweep that removes exactly what one run left (printed when its cleanup could not finish). The CLI's
        names the region and S3 endpoint too, so that it reaches the same S3 the run wrote to; Zorora's takes
        them, like the run, from the environment Zorora was started with."""
        if self.in_zorora:
            return f"ml-validate-e2e --sweep --customer-id {customer_id} --bucket {bucket} --older-than 0s --yes"
        extra = (f" --region {region}" if region else "") + (f" --s3-endpoint-url {endpoint}" if endpoint else "")
        return f"zorora-e2e sweep --customer-id {customer_id} --bucket {bucket}{extra} --older-than 0s --yes"

    def hint(self, diagnosis: Diagnosis) -> str:
        """A diagnosis's hint in this face's words: each of its slots filled with this face's phrase."""
        return diagnosis.words(dict(self.slots))


CLI = Face(
    name="zorora-e2e",
    in_zorora=False,
    set_base_url="set --base-url or ONA_API_BASE_URL to e.g. {example}",
    no_base_url="(or pass --base-url)",
    no_token="(or pass --token, or --token-from-ssm to read {ssm_parameter})",
    pass_token="ONA_API_TOKEN, --token or --token-from-ssm",
    region="--region/AWS_REGION",
    s3_endpoint="--s3-endpoint-url / AWS_ENDPOINT_URL_S3",
    demo="`zorora-e2e demo`",
    slots=(
        ("base_url", "--base-url (ONA_API_BASE_URL)"),
        ("token_from_ssm", "--token-from-ssm"),
        ("token_setting", "ONA_API_TOKEN (or --token)"),
        ("region", "--region/AWS_REGION"),
        ("region_flag", "--region"),
        ("s3_endpoint", "--s3-endpoint-url/AWS_ENDPOINT_URL_S3"),
        ("s3_endpoint_flag", "--s3-endpoint-url"),
    ),
)

REPL = Face(
    name="ml-validate-e2e",
    in_zorora=True,
    set_base_url="set ONA_API_BASE_URL to e.g. {example} and restart Zorora",
    no_base_url="and restart Zorora",
    no_token="and restart Zorora (its ONA client reads it at start-up)",
    pass_token="ONA_API_TOKEN",
    region="AWS_REGION",
    s3_endpoint="AWS_ENDPOINT_URL_S3",
    demo="ml-validate-e2e --sandbox",
    slots=(  # Zorora's ONA client reads the base URL and the token once, at start-up
        ("base_url", "ONA_API_BASE_URL (then restart Zorora)"),
        ("token_from_ssm", "into ONA_API_TOKEN, then restart Zorora"),
        ("token_setting", "ONA_API_TOKEN, then restart Zorora (its client reads the token at start-up)"),
        ("region", "AWS_REGION"),
        ("region_flag", "AWS_REGION"),
        ("s3_endpoint", "AWS_ENDPOINT_URL_S3"),
        ("s3_endpoint_flag", "AWS_ENDPOINT_URL_S3"),
    ),
)


@dataclasses.dataclass(frozen=True)
class Target:
    """Where a run goes when its face decides it rather than the flags: the REPL's own ONA client (base URL,
    token, IAM, and where they came from), or an in-process sandbox (all of it, its static S3 keys too).
    None: not decided here (the flags, then the environment, then the defaults)."""

    base_url: str | None = None
    base_url_setting: str = "ONA_API_BASE_URL"  # how a message names where the base URL came from
    token: str | None = dataclasses.field(default=None, repr=False)
    token_setting: str = "--token"  # ... and the token (when `token` is given)
    use_iam: bool | None = None
    bucket: str | None = None
    region: str | None = None
    s3_endpoint_url: str | None = None
    aws_access_key_id: str | None = None
    aws_secret_access_key: str | None = dataclasses.field(default=None, repr=False)
    sandbox: bool = False  # a sandbox of our own: local, nothing to confirm


NO_TARGET = Target()

__all__ = ["CLI", "NO_TARGET", "REPL", "Face", "Target"]
