"""Zorora's answers are text; the JSON inside must be found robustly."""

import os

import pytest

from zorora_e2e_plugin.client import auto_confirm, extract_json_blocks

PROMOTE_TEXT = ('Model Comparison:\n{\n  "verdict": "eligible",\n  "note": "a } in a string {"\n}\n\n'
                '✓ Promotion successful:\n{\n  "message": "Model promoted",\n  "nested": {"a": [1, 2]}\n}')


def test_two_blocks_of_a_promotion():
    diff, result = extract_json_blocks(PROMOTE_TEXT)
    assert diff["verdict"] == "eligible" and diff["note"] == "a } in a string {"
    assert result == {"message": "Model promoted", "nested": {"a": [1, 2]}}


def test_no_json_and_broken_json():
    assert extract_json_blocks("Promotion cancelled by user") == []
    assert extract_json_blocks('✓ Rollback successful:\n{"message": "Rolled back", "x": ') == []
    assert extract_json_blocks('{bad} then {"ok": 1}') == [{"ok": 1}]


@pytest.mark.parametrize("before", [None, "false", "TRUE"])
def test_auto_confirm_restores_the_previous_value(monkeypatch, before):
    if before is None:
        monkeypatch.delenv("ZORORA_AUTO_CONFIRM", raising=False)
    else:
        monkeypatch.setenv("ZORORA_AUTO_CONFIRM", before)
    with pytest.raises(KeyboardInterrupt):
        with auto_confirm():
            assert os.environ["ZORORA_AUTO_CONFIRM"] == "true"
            raise KeyboardInterrupt
    assert os.environ.get("ZORORA_AUTO_CONFIRM") == before
