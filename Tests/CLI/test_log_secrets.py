"""The gateway at LOG_LEVEL=trace, driven through every kind of route (provider webhooks of all four
channels, the handshakes, status callbacks, the API, the event stream with ?access_token=, the
console, web chat with ?token=, /metrics, refused requests and outbound sends that carry tokens in
their URL or headers): no configured secret, API token or visitor token may appear in its log."""

import json
import os
import secrets
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from conftest import REPO, free_port, wait_for


def request(method, url, body=None, headers=None, timeout=10):
    data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    req = urllib.request.Request(url, method=method, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()
    except OSError:
        return 0, ""


def test_no_secret_reaches_the_log_at_trace_level():
    binary = os.environ.get("SWITCHBOARD_BIN") or str(REPO / ".build/debug/switchboard")
    work = Path(tempfile.mkdtemp(prefix="switchboard-logs-"))
    port, sim_port = free_port(), free_port()
    url, simulator = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{sim_port}"
    secret = lambda: "s3cr3t" + secrets.token_hex(12)
    values = {
        "SWITCHBOARD_API_TOKEN": secret(), "SWITCHBOARD_WEBCHAT_SECRET": secret(),
        "TWILIO_ACCOUNT_SID": "AC" + secrets.token_hex(16), "TWILIO_AUTH_TOKEN": secret(), "TWILIO_FROM": "+15550001111",
        "MESSENGER_APP_SECRET": secret(), "MESSENGER_VERIFY_TOKEN": secret(), "MESSENGER_PAGE_ACCESS_TOKEN": secret(),
        "MESSENGER_PAGE_ID": "100000000000001", "RBM_AGENT_ID": "log-test-agent", "RBM_CLIENT_TOKEN": secret(),
        "RBM_ACCESS_TOKEN": secret(),
    }
    config = json.loads((REPO / "Config/switchboard.json").read_text())
    config.update(port=port, database=f"sqlite:{work}/logs.sqlite", bot={"kind": "echo"})
    config["simulator"]["port"] = sim_port
    config["outbox"]["pacing"] = {}
    for provider in ("twilio", "messenger", "rbm"):
        config[provider] = {"apiBaseURL": simulator}
    (work / "switchboard.json").write_text(json.dumps(config))
    env = dict(os.environ, **values, LOG_LEVEL="trace", SWITCHBOARD_CONFIG=str(work / "switchboard.json"))
    log_path = work / "gateway.log"
    with open(log_path, "w") as log:
        gateway = subprocess.Popen([binary, "serve", "--dev"], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    token = values["SWITCHBOARD_API_TOKEN"]
    auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    visitor_tokens = []
    try:
        wait_for(lambda: request("GET", url + "/healthz")[0] == 200 and request("GET", simulator + "/_simulator/requests")[0] == 200,
                 timeout=30, message="the gateway and its simulator")

        def simulate(*arguments):
            result = subprocess.run([binary, "simulate", "send", "--gateway", url, *arguments], cwd=REPO, env=env,
                                    capture_output=True, text=True, timeout=60)
            assert result.returncode == 0, result.stdout + result.stderr
            return result.stdout

        # Provider webhooks, each correctly signed, and the replies they cause (Twilio's basic auth,
        # Messenger's ?access_token=, RBM's bearer token), with the simulator's status callbacks.
        simulate("--channel", "sms", "--from", "+15551230000", "--text", "hi")
        simulate("--channel", "rcs", "--from", "+15551230001", "--text", "hi")
        simulate("--channel", "messenger", "--from", "24680", "--text", "hi")
        output = simulate("--channel", "webchat", "--text", "hi")
        visitor_tokens += [part.rstrip(")") for part in output.split() if part.count(".") == 1 and len(part) > 40]
        wait_for(lambda: len(json.loads(request("GET", simulator + "/_simulator/requests")[1])["items"]) >= 3,
                 timeout=20, message="the replies")
        time.sleep(1)  # the status callbacks follow each reply

        # Handshakes and refusals.
        verify = values["MESSENGER_VERIFY_TOKEN"]
        assert request("GET", f"{url}/webhooks/messenger?hub.mode=subscribe&hub.verify_token={verify}&hub.challenge=42")[0] == 200
        assert request("GET", f"{url}/webhooks/messenger?hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=42")[0] == 403
        handshake = {"clientToken": values["RBM_CLIENT_TOKEN"], "secret": "rbm-handshake-secret"}
        assert request("POST", url + "/webhooks/rbm", handshake, {"Content-Type": "application/json"})[0] == 200
        assert request("POST", url + "/webhooks/twilio/sms", b"From=%2B1&Body=x&MessageSid=SMx",
                       {"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": "forged"})[0] == 403

        # Web chat: a session, its renewal, and the socket URL without an upgrade.
        status, body = request("POST", url + "/webchat/sessions")
        session = json.loads(body)
        visitor_tokens.append(session["token"])
        status, body = request("POST", url + "/webchat/sessions", {"token": session["token"]}, {"Content-Type": "application/json"})
        visitor_tokens.append(json.loads(body)["token"])
        request("GET", f"{url}/webchat/ws?token={session['token']}")

        # The API, the console and /metrics.
        contacts = json.loads(request("GET", url + "/api/v1/contacts", headers=auth)[1])["items"]
        for contact in contacts:
            request("GET", f"{url}/api/v1/contacts/{contact['id']}/messages", headers=auth)
            request("PUT", f"{url}/api/v1/contacts/{contact['id']}/attributes/plan", {"value": "gold"}, auth)
            request("PUT", f"{url}/api/v1/contacts/{contact['id']}/tags/vip", headers=auth)
            request("POST", f"{url}/api/v1/contacts/{contact['id']}/messages", {"content": {"text": "agent here"}}, auth)
        request("GET", url + "/api/v1/tags", headers=auth)
        request("GET", url + "/api/v1/contacts", headers={"Authorization": "Bearer wrong-token"})
        request("GET", url + "/metrics", headers=auth)
        request("GET", url + "/")
        request("GET", url + "/webchat/widget.js")
        request("GET", url + "/readyz")
        request("GET", url + "/no/such/route")

        # The console's event stream, authenticated in the query as EventSource must.
        with socket.create_connection(("127.0.0.1", port), timeout=5) as stream:
            stream.sendall(f"GET /api/v1/events?access_token={token} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            assert b"200" in stream.recv(1024)
        time.sleep(1)
    finally:
        gateway.terminate()
        gateway.wait(timeout=20)

    log = log_path.read_text()
    # The log really is at trace level and saw the requests (else this test could not fail).
    assert "access_token=***" in log, log[-2000:]
    assert "hub.verify_token=***" in log
    assert "token=***" in log
    assert len(log.splitlines()) > 100
    assert visitor_tokens, "no visitor token was issued"
    not_secret = {"TWILIO_ACCOUNT_SID", "TWILIO_FROM", "MESSENGER_PAGE_ID", "RBM_AGENT_ID"}
    leaked = [name for name, value in values.items() if name not in not_secret and value in log]
    leaked += ["visitor token" for value in visitor_tokens if value in log]
    assert not leaked, f"secrets in the log: {leaked}"
