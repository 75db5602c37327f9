"""`switchboard simulate run`: every shipped scenario against a real gateway process, and what a
mismatch looks like."""

import json
import shutil
from pathlib import Path

import pytest

from conftest import REPO, start_gateway

SCENARIOS = sorted((REPO / "Config/scenarios").glob("*.json"))


@pytest.mark.parametrize("path", SCENARIOS, ids=[path.stem for path in SCENARIOS])
def test_every_shipped_scenario_passes(gateway, path):
    result = gateway.cli("simulate", "run", str(path))
    assert result.returncode == 0, result.stdout + result.stderr
    steps = len(json.loads(path.read_text())["steps"])
    assert f"all {steps} steps as expected" in result.stdout
    assert "✗" not in result.stdout


def test_a_scenario_runs_again_with_new_contacts(gateway):
    # Addresses left out of a scenario are made up per run, so the flow starts over each time.
    for _ in range(2):
        result = gateway.cli("simulate", "run", str(REPO / "Config/scenarios/welcome.json"))
        assert result.returncode == 0, result.stdout + result.stderr


def test_a_mismatch_exits_non_zero_with_a_readable_diff(gateway, tmp_path):
    scenario = {
        "name": "wrong-greeting",
        "contacts": {"ada": {}, "maya": {}},
        "steps": [
            {"send": {"channel": "sms", "from": "ada", "text": "hi"}},
            {"expect": {"channel": "sms", "to": "ada", "text": "Hello there!"}},
            {"send": {"channel": "sms", "from": "ada", "text": "Ada"}},
        ],
    }
    path = tmp_path / "wrong.json"
    path.write_text(json.dumps(scenario))
    result = gateway.cli("simulate", "run", str(path))
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert "  ✓ 1   sms ada → \"hi\"" in lines
    assert "  ✗ 2   sms ada ← the gateway's message differs (- expected, + actual)" in lines
    assert "        - text: \"Hello there!\"" in lines
    assert "        + text: \"Hi! I'm the Switchboard assistant. What's your first name?\"" in lines
    assert "scenario wrong-greeting: step 2 of 3 failed (1 not run)" in lines
    assert lines[-1] == "0 of 1 scenarios as expected"


def test_quick_replies_and_provider_fields_are_compared(gateway, tmp_path):
    scenario = {
        "name": "wrong-buttons",
        "contacts": {"maya": {}},
        "steps": [
            {"send": {"channel": "messenger", "from": "maya", "text": "hi"}},
            {"expect": {"channel": "messenger", "to": "maya", "textContains": "first name"}},
            {"send": {"channel": "messenger", "from": "maya", "text": "Maya"}},
            {"expect": {"channel": "messenger", "to": "maya", "quickReplies": [{"title": "Yes", "payload": "YES"}, "No"],
                        "rendered": {"messaging_type": "UPDATE"}}},
        ],
    }
    path = tmp_path / "buttons.json"
    path.write_text(json.dumps(scenario))
    result = gateway.cli("simulate", "run", str(path))
    assert result.returncode == 1
    assert "- quick replies: [Yes (YES), No]" in result.stdout
    assert "+ quick replies: [Yes (ORDER), No (OTHER)]" in result.stdout
    assert '- messaging_type: "UPDATE"' in result.stdout
    assert '+ messaging_type: "RESPONSE"' in result.stdout


def test_a_malformed_scenario_is_refused_with_its_problems(gateway, tmp_path):
    path = tmp_path / "broken.json"
    path.write_text(json.dumps({"name": "broken", "contacts": {"ada": {}}, "steps": [
        {"send": {"channel": "fax", "from": "ada", "text": "hi"}},
        {"expect": {"channel": "sms", "to": "bob", "text": "?"}},
    ]}))
    result = gateway.cli("simulate", "run", str(path))
    assert result.returncode != 0
    assert "step 1: unknown channel 'fax'" in result.stderr
    assert "step 2: no contact 'bob' in contacts" in result.stderr


def test_run_starts_a_simulator_when_the_gateway_has_none():
    # `switchboard serve` without --dev runs no simulator: `simulate run` starts one for the run,
    # on the address the gateway's configuration sends to.
    gateway = start_gateway(dev=False)
    try:
        result = gateway.cli("simulate", "run", str(REPO / "Config/scenarios/welcome.json"))
        assert result.returncode == 0, result.stdout + result.stderr
        assert f"started a provider simulator at {gateway.simulator}" in result.stdout
    finally:
        gateway.stop()
        shutil.rmtree(gateway.work, ignore_errors=True)
