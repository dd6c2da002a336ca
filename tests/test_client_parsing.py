"""Zorora's answers are text; the JSON inside must be found robustly."""

import os

import pytest

from zorora_e2e_plugin.client import extract_json_blocks, run_scope

PROMOTE_TEXT = (
    'Model Comparison:\n{\n  "verdict": "eligible",\n  "note": "a } in a string {"\n}\n\n'
    '✓ Promotion successful:\n{\n  "message": "Model promoted",\n  "nested": {"a": [1, 2]}\n}'
)


def test_two_blocks_of_a_promotion():
    diff, result = extract_json_blocks(PROMOTE_TEXT)
    assert diff["verdict"] == "eligible" and diff["note"] == "a } in a string {"
    assert result == {"message": "Model promoted", "nested": {"a": [1, 2]}}


def test_no_json_and_broken_json():
    assert extract_json_blocks("Promotion cancelled by user") == []
    assert extract_json_blocks('✓ Rollback successful:\n{"message": "Rolled back", "x": ') == []
    assert extract_json_blocks('{bad} then {"ok": 1}') == [{"ok": 1}]


class _Settings:
    actor = "zorora-validation-bot"


@pytest.mark.parametrize("before", [None, "false", "TRUE"])
def test_run_scope_restores_auto_confirm_in_every_case(monkeypatch, before):
    if before is None:
        monkeypatch.delenv("ZORORA_AUTO_CONFIRM", raising=False)
    else:
        monkeypatch.setenv("ZORORA_AUTO_CONFIRM", before)
    with pytest.raises(KeyboardInterrupt):
        with run_scope(_Settings()):
            assert os.environ["ZORORA_AUTO_CONFIRM"] == "true"
            raise KeyboardInterrupt
    assert os.environ.get("ZORORA_AUTO_CONFIRM") == before


def test_read_only_answers_through_zorora_must_be_one_json_object():
    """Exactly what the direct client accepts: an object digged out of an array or of text is refused."""
    from zorora_e2e_plugin.client import OnaError, ZororaClient

    assert ZororaClient._json('{\n  "count": 1\n}') == {"count": 1}
    for text in ('[\n  {\n    "count": 1\n  }\n]', 'Challengers:\n{"count": 1}', '"text"', "[]"):
        with pytest.raises(OnaError):
            ZororaClient._json(text)
    assert ZororaClient._last_block('✓ Rollback successful:\n{"message": "Rolled back"}') == {"message": "Rolled back"}


@pytest.mark.parametrize("before", [None, "alice"])
def test_run_scope_sets_the_test_actor_for_overlapping_runs_and_restores_it(monkeypatch, before):
    """Zorora's client reads ZORORA_ACTOR on every request (X-Actor): the test actor while any run is in its
    scope; two runs overlapping in one process: the first in saves, the last out restores."""
    import threading

    if before is None:
        monkeypatch.delenv("ZORORA_ACTOR", raising=False)
    else:
        monkeypatch.setenv("ZORORA_ACTOR", before)
    inside, release = threading.Barrier(3), threading.Event()
    seen = []

    def run():
        with run_scope(_Settings()):
            inside.wait(5)
            release.wait(5)
            seen.append(os.environ.get("ZORORA_ACTOR"))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    inside.wait(5)  # both runs are in their scope
    assert os.environ.get("ZORORA_ACTOR") == "zorora-validation-bot"
    release.set()
    for t in threads:
        t.join(5)
    assert seen == ["zorora-validation-bot"] * 2
    assert os.environ.get("ZORORA_ACTOR") == before
    with pytest.raises(KeyboardInterrupt):
        with run_scope(_Settings()):
            raise KeyboardInterrupt
    assert os.environ.get("ZORORA_ACTOR") == before


def test_errors_are_classified_by_type_where_they_are_caught_and_diagnosed_by_kind():
    """No message text decides the hint: the kind set where the exception was caught does."""
    import socket

    import requests

    from zorora_e2e_plugin.client import OnaError
    from zorora_e2e_plugin.client.errors import transport_kind
    from zorora_e2e_plugin.client.zorora import _as_ona_error
    from zorora_e2e_plugin.core import catalogue as diagnose
    from zorora_e2e_plugin.core.outcomes import ExitCode

    def wrapped(inner):
        try:
            try:
                raise inner
            except BaseException as exc:
                raise requests.exceptions.ConnectionError(exc)  # noqa: B904 - the implicit chain is what this test reads
        except requests.exceptions.ConnectionError as outer:
            return outer

    assert transport_kind(requests.exceptions.ReadTimeout("slow")) == "timeout"
    assert transport_kind(requests.exceptions.SSLError("bad cert")) == "tls"
    assert transport_kind(wrapped(socket.gaierror(-2, "x"))) == "dns"
    assert transport_kind(requests.exceptions.ConnectionError("refused")) == "connect"
    assert transport_kind(ValueError("timeout")) is None  # the word is not the kind

    class HTTPError(Exception):  # Zorora's: raised inside requests' except, its status 0
        def __init__(self, message, status_code):
            super().__init__(message)
            self.message, self.status_code = message, status_code

    try:
        try:
            raise requests.exceptions.ConnectTimeout("connect timed out")
        except requests.exceptions.RequestException:
            raise HTTPError("no answer", status_code=0)  # noqa: B904 - the implicit chain is what this test reads
    except HTTPError as exc:
        error = _as_ona_error(exc)
    # a connect timeout is the connection (the settings'), never a cold start (issue 29 item 2)
    assert (error.status, error.kind) == (0, "connect") and diagnose.for_error(error) == diagnose.CONNECT
    assert transport_kind(requests.exceptions.ConnectTimeout("no SYN-ACK")) == "connect"
    assert OnaError("Reason must be at least 10 characters").kind == "refused"
    refused = diagnose.for_error(OnaError("timeout connection", kind="refused"))  # the client's own check stopped:
    assert refused.id == diagnose.ANSWER_DIFFERS.id  # on an answer, never a timeout or a connection by its words
    assert diagnose.for_error(OnaError("x", kind="dns")) == diagnose.DNS
    assert diagnose.for_error(OnaError("Unauthorized", 401, "{}")) == diagnose.TOKEN_MISMATCH
    assert [int(code) for code in ExitCode] == [0, 1, 2, 3, 4, 5, 129, 130, 143]  # 4, 5: --for (readiness)
    assert ExitCode.for_signal(2) is ExitCode.INTERRUPTED and ExitCode.for_signal(10) == 138
