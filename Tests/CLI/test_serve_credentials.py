"""`switchboard serve` and the simulator's published credentials: refused outside --dev (naming
the key), channels listed at startup with what each is missing, and --dev beyond loopback warned."""

import os
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from conftest import REPO, free_port


def binary():
    return os.environ.get("SWITCHBOARD_BIN") or str(REPO / ".build/debug/switchboard")


def environment(work, **values):
    env = {key: value for key, value in os.environ.items() if not key.startswith(("TWILIO_", "MESSENGER_", "RBM_"))}
    env.update(SWITCHBOARD_DATABASE=f"sqlite:{work}/serve.sqlite", SWITCHBOARD_PORT=str(free_port()),
               SWITCHBOARD_API_TOKEN="a-token-of-our-own", LOG_LEVEL="warning", **values)
    return env


def run_until(arguments, env, text, timeout=30):
    """Starts `switchboard ARGUMENTS`, waits until its output holds `text`, stops it, returns the output."""
    with tempfile.TemporaryFile("w+") as output:
        process = subprocess.Popen([binary(), *arguments], cwd=REPO, env=env, stdout=output, stderr=subprocess.STDOUT)
        deadline = time.time() + timeout
        try:
            while time.time() < deadline and process.poll() is None:
                output.seek(0)
                if text in output.read():
                    break
                time.sleep(0.1)
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=20)
        output.seek(0)
        return output.read()


def test_serve_refuses_a_published_simulator_secret_and_names_the_key():
    work = Path(tempfile.mkdtemp(prefix="switchboard-serve-"))
    env = environment(work, TWILIO_ACCOUNT_SID="AC" + "1" * 32, TWILIO_AUTH_TOKEN="simulator-twilio-auth-token", TWILIO_FROM="+15550001111")
    result = subprocess.run([binary(), "serve"], cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "TWILIO_AUTH_TOKEN" in result.stderr + result.stdout
    assert "published" in result.stderr + result.stdout


def test_serve_without_credentials_lists_each_channel_and_what_it_lacks():
    work = Path(tempfile.mkdtemp(prefix="switchboard-serve-"))
    output = run_until(["serve"], environment(work), "Switchboard listening")
    assert "sms: disabled (set TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_FROM" in output
    assert "rcs: disabled (set RBM_AGENT_ID, RBM_CLIENT_TOKEN and RBM_ACCESS_TOKEN (or RBM_SERVICE_ACCOUNT_FILE))" in output
    assert "messenger: disabled (set MESSENGER_APP_SECRET" in output
    assert "webchat: enabled (built in)" in output


def test_dev_uses_the_simulator_credentials_and_warns_beyond_loopback():
    work = Path(tempfile.mkdtemp(prefix="switchboard-serve-"))
    env = environment(work, SWITCHBOARD_HOST="0.0.0.0")
    env["SWITCHBOARD_CONFIG"] = str(work / "config.json")
    (work / "config.json").write_text('{"simulator": {"host": "127.0.0.1", "port": %d}}' % free_port())
    output = run_until(["serve", "--dev"], env, "Switchboard listening")
    assert "sms: enabled (the provider simulator's credentials (--dev))" in output
    assert "WARNING: --dev on 0.0.0.0, beyond loopback" in output
