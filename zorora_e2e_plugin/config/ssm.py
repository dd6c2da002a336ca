"""Read the API token from SSM Parameter Store (`--token-from-ssm`)."""

from __future__ import annotations


class SsmError(Exception):
    """The parameter could not be read; the message says what to check (settings turns it into SettingsError)."""


def read_token(name: str, region: str) -> str:
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        ssm = boto3.client("ssm", region_name=region)
        answer = ssm.get_parameter(Name=name, WithDecryption=True)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "error")
        raise SsmError(
            f"Could not read SSM parameter {name} in {region} ({code}); "
            "check the name, the region and ssm:GetParameter + kms:Decrypt permissions, "
            "or pass --token / ONA_API_TOKEN instead"
        ) from None
    except BotoCoreError as exc:
        raise SsmError(
            f"Could not read SSM parameter {name} in {region}: {exc}; "
            "configure AWS credentials or pass --token / ONA_API_TOKEN"
        ) from None
    return answer["Parameter"]["Value"]
