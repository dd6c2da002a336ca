"""Flags > env > defaults, and the refusals that keep a run away from real customers."""

import pytest

from zorora_e2e_plugin.config.checks import SettingsError, redact_url
from zorora_e2e_plugin.config.flags import RunFlags
from zorora_e2e_plugin.config.settings import expand_phases, resolve

ENV = {
    "ONA_API_BASE_URL": "https://abc.execute-api.af-south-1.amazonaws.com/prod/api/v1/",
    "ONA_API_TOKEN": "tok-123456",
}


def test_defaults():
    s = resolve(RunFlags(), ENV)
    assert s.base_url == "https://abc.execute-api.af-south-1.amazonaws.com/prod/api/v1"
    assert s.bucket == "sa-api-client-output" and s.region == "af-south-1"
    assert s.actor == "zorora-validation-bot"
    assert s.customer_id.startswith("zorora-e2e-test-") and len(s.customer_id) == len("zorora-e2e-test-") + 21
    assert s.phases == frozenset(range(6)) and s.writes_data and not s.is_local
    assert "tok-123456" not in repr(s)


def test_flags_beat_env():
    s = resolve(RunFlags(bucket="flag-bucket", actor="me"), {**ENV, "OUTPUT_BUCKET": "env-bucket", "TEST_ACTOR": "x"})
    assert (s.bucket, s.actor) == ("flag-bucket", "me")
    assert resolve(RunFlags(), {**ENV, "OUTPUT_BUCKET": "env-bucket"}).bucket == "env-bucket"


@pytest.mark.parametrize("customer", ["acme", "zorora-e2e-test", "zorora-e2e-testing-1", "zorora-e2e-test-"])
def test_non_test_customers_are_refused(customer):
    with pytest.raises(SettingsError, match="must start with 'zorora-e2e-test-'"):
        resolve(RunFlags(customer_id=customer), ENV)


@pytest.mark.parametrize(
    "flags, env, message",
    [
        ({}, {"ONA_API_TOKEN": "t"}, "ONA_API_BASE_URL"),
        ({}, {"ONA_API_BASE_URL": "https://x/prod/api/v1"}, "ONA_API_TOKEN"),
        ({"base_url": "not a url"}, ENV, "http"),
        ({"base_url": "http://[::1"}, ENV, "not a valid URL"),
        ({"timeout": "-1"}, ENV, "positive"),
        ({"timeout": "abc"}, ENV, "number"),
        ({"bucket": "Bad_Bucket"}, ENV, "bucket"),
        ({"phases": [7]}, ENV, "between 0 and 5"),
        ({"client": "curl"}, ENV, "--client"),
        ({"region": "bad region"}, ENV, "not an AWS region"),
        ({"s3_endpoint_url": "http://[::1"}, ENV, "not a valid URL"),
        ({"timeout": "1e300"}, ENV, "at most"),
        ({"customer_id": "zorora-e2e-test-x\n"}, ENV, "may contain only"),
    ],
)
def test_bad_settings_say_what_to_set(flags, env, message):
    with pytest.raises(SettingsError, match=message):
        resolve(RunFlags(**flags), env)


def test_phase_dependencies():
    assert expand_phases([0]) == {0}
    assert expand_phases([3]) == {0, 1, 3, 5}
    assert expand_phases([1]) == {0, 1, 5}


def test_loopback_targets_are_local_and_credentials_in_urls_are_secret():
    s = resolve(
        RunFlags(base_url="http://127.0.0.1:9/prod/api/v1", s3_endpoint_url="http://user:pa55word@127.0.0.1:8"),
        {"ONA_API_TOKEN": "tok-123456"},
    )
    assert s.is_local
    # a tunnel to the real API on loopback, with the real S3, is not local: it must ask before writing
    assert not resolve(RunFlags(base_url="http://127.0.0.1:9/prod/api/v1"), {"ONA_API_TOKEN": "tok-123456"}).is_local
    assert "pa55word" not in repr(s) and "pa55word" in s.secrets and "tok-123456" in s.secrets
    assert redact_url("https://h/x") == "https://h/x"
    # credentials in the base URL would replace the bearer token (Basic auth): refused, not printed
    with pytest.raises(SettingsError) as refused:
        resolve(RunFlags(base_url="http://user:pa55word@127.0.0.1:9/prod/api/v1"), {"ONA_API_TOKEN": "tok-123456"})
    assert "pa55word" not in str(refused.value) and "credentials" in str(refused.value)


def test_token_from_ssm_uses_the_reader():
    calls = []
    s = resolve(
        RunFlags(token_from_ssm="/p/name"),
        {"ONA_API_BASE_URL": "https://x/prod/api/v1"},
        token_reader=lambda name, region: calls.append((name, region)) or "from-ssm",
    )
    assert s.token == "from-ssm" and calls == [("/p/name", "af-south-1")]


def test_a_token_held_with_its_scheme_is_secret_after_the_scheme_only():
    """Issue 29 item 8: Zorora's client may hold 'Bearer tok…' (ONA_API_TOKEN pasted with its scheme). The token is
    masked in every form; the words around it are not ("the bearer token is accepted" stayed "the b***ken")."""
    from zorora_e2e_plugin.config.faces import REPL, Target
    from zorora_e2e_plugin.core.redact import make_redactor

    target = Target(
        base_url="https://x.example/prod/api/v1",
        token="Bearer tok-abc-123456",
        token_setting="ONA_API_TOKEN (as Zorora read it at start-up)",
    )
    settings = resolve(RunFlags(), {}, target=target, face=REPL)
    assert settings.token == "Bearer tok-abc-123456" and settings.notes == ()  # sent as Zorora's client sends it
    redact = make_redactor(settings.secrets)
    assert redact("expected the bearer token is accepted") == "expected the bearer token is accepted"
    assert "tok-abc-123456" not in redact("Authorization: Bearer Bearer tok-abc-123456; tok-abc-123456")


@pytest.mark.parametrize(
    "given, sent",
    [
        ("Bearer abc.def", "abc.def"),
        ("bearer\tabc", "abc"),
        ("Authorization: Bearer abc", "abc"),
        ("Bearer Bearer abc", "abc"),
        ("Bearerabc", "Bearerabc"),
        ("abc", "abc"),
    ],
)
def test_a_token_pasted_with_its_scheme_is_sent_without_it(given, sent):
    settings = resolve(RunFlags(base_url="https://x.example/prod/api/v1"), {"ONA_API_TOKEN": given})
    assert settings.token == sent
    assert bool(settings.notes) == (given != sent)
    assert all("ONA_API_TOKEN starts with the scheme" in note and sent not in note for note in settings.notes)
