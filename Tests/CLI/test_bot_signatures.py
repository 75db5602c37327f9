"""The external bot's requests are signed per Standard Webhooks: a bot written with the official
`standardwebhooks` package from PyPI verifies them, and its reply reaches the contact."""

import base64
import json
import secrets
import shutil
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from conftest import start_gateway, wait_for


def new_secret():
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


class Bot:
    """A bot on loopback that verifies each request with the library and echoes the text."""

    def __init__(self, secret):
        self.verified, self.refused, self.raw = [], [], []
        bot = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                bot.raw.append((body, dict(self.headers)))
                try:
                    payload = Webhook(secret).verify(body, dict(self.headers))
                except WebhookVerificationError as error:
                    bot.refused.append(str(error))
                    self.send_response(401)
                    self.end_headers()
                    return
                bot.verified.append((self.headers["webhook-id"], payload["message"]["id"]))
                reply = json.dumps({"replies": [{"text": "verified: " + payload["message"]["content"]["text"]}]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *arguments):
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/bot"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.mark.parametrize("rotation", [False, True])
def test_a_bot_verifies_requests_with_standardwebhooks(rotation):
    secret = new_secret()
    bot = Bot(secret)
    # During a rotation the gateway holds the new secret and the old one; a bot that still has
    # either verifies.
    configured = f"{new_secret()} {secret}" if rotation else secret
    gateway = start_gateway(settings={
        "bot": {"kind": "http", "http": {"url": bot.url, "secret": configured}},
        "allowPrivateURLs": ["127.0.0.0/8"],
    })
    try:
        gateway.simulate("--channel", "sms", "--from", "+15551239100", "--text", "hello bot")
        wait_for(lambda: any("verified: hello bot" in json.dumps(request) for request in gateway.provider_requests("twilio")),
                 timeout=15, message="the bot's reply at the fake Twilio")
        assert not bot.refused
        assert len(bot.verified) == 1
        webhook_id, message_id = bot.verified[0]
        assert webhook_id == message_id and message_id.startswith("msg_")
        # The check is real: the same request fails with another secret, or with a changed body.
        body, headers = bot.raw[0]
        with pytest.raises(WebhookVerificationError):
            Webhook(new_secret()).verify(body, headers)
        with pytest.raises(WebhookVerificationError):
            Webhook(secret).verify(body.replace(b"hello bot", b"hello bit"), headers)
    finally:
        gateway.stop()
        bot.server.shutdown()
        shutil.rmtree(gateway.work, ignore_errors=True)
