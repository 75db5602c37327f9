"""Event webhooks end to end: a receiver written with PyPI's `standardwebhooks` verifies every
request; events still reach it after it has failed for a while (across a gateway restart), in
order per contact, each with the id it first had; a 410 disables the subscriber until a failed
delivery is replayed through the API; a delivery is given up on after the retry window."""

import base64
import contextlib
import re
import secrets
import shutil
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from conftest import start_gateway, wait_for


def new_secret():
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


class Receiver:
    """A subscriber on loopback. `answer` decides each reply: (status, headers)."""

    def __init__(self, secret):
        self.accepted, self.refused, self.attempts, self.times = [], [], [], []
        self.answer = lambda: (204, {})
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                headers = dict(self.headers)
                receiver.attempts.append(headers.get("webhook-id"))
                receiver.times.append(time.monotonic())
                try:
                    event = Webhook(secret).verify(body, headers)
                except WebhookVerificationError as error:
                    receiver.refused.append(str(error))
                    self.send_response(401)
                    self.end_headers()
                    return
                status, extra = receiver.answer()
                if 200 <= status < 300:
                    receiver.accepted.append((headers["webhook-id"], event))
                self.send_response(status)
                for name, value in extra.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *arguments):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/events"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def events(self, type_=None):
        return [event for _, event in self.accepted if type_ is None or event["type"] == type_]


@contextlib.contextmanager
def subscribed_gateway(receiver, secret, **rules):
    """A gateway with `receiver` as its one subscriber (retried every half second by default)."""
    gateway = start_gateway(settings={
        "eventWebhooks": {"subscribers": [{"name": "crm", "url": receiver.url, "secret": secret}], "retrySchedule": [0.5], **rules},
        "allowPrivateURLs": ["127.0.0.0/8"],
    })
    try:
        yield gateway
    finally:
        gateway.stop()
        receiver.server.shutdown()
        shutil.rmtree(gateway.work, ignore_errors=True)


def delivery_number(webhook_id):
    assert re.fullmatch(r"whd_\d+", webhook_id), webhook_id
    return int(webhook_id[4:])


def test_events_arrive_verified_and_in_order_after_the_receiver_failed_for_a_while():
    secret = new_secret()
    receiver = Receiver(secret)
    failing = {"on": True}
    # First 503 with Retry-After, then 500 without: the gateway keeps trying.
    receiver.answer = lambda: ((503, {"Retry-After": "1"}) if len(receiver.attempts) <= 2 else (500, {})) if failing["on"] else (204, {})
    with subscribed_gateway(receiver, secret) as gateway:
        gateway.simulate("--channel", "sms", "--from", "+15551238001", "--text", "first")
        gateway.simulate("--channel", "sms", "--from", "+15551238002", "--text", "other contact")
        wait_for(lambda: len(receiver.attempts) >= 4, timeout=20, message="attempts at the failing receiver")
        first_attempted = receiver.attempts[0]
        assert not receiver.accepted
        # Its first answer was 503 with Retry-After: 1: the next attempt waited that second, not
        # the half second of the schedule.
        times = [t for webhook_id, t in zip(receiver.attempts, receiver.times) if webhook_id == first_attempted]
        assert len(times) >= 2 and times[1] - times[0] >= 0.95, times
        # Acknowledged changes survive a restart while the receiver is down.
        gateway.restart()
        gateway.simulate("--channel", "sms", "--from", "+15551238001", "--text", "second")
        failing["on"] = False
        wait_for(lambda: sum(1 for e in receiver.events("message.created")
                             if e["data"]["direction"] == "inbound") == 3, timeout=30, message="three inbound messages")
        assert not receiver.refused
        # The id an event first had is kept on every attempt.
        assert first_attempted in [webhook_id for webhook_id, _ in receiver.accepted]
        # Every event body is the envelope with normalized data.
        for webhook_id, event in receiver.accepted:
            assert set(event) == {"type", "timestamp", "data"}
            assert event["type"] in {"message.created", "message.status", "contact.updated"}
            assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", event["timestamp"])
        # In order per contact: each contact's deliveries arrive in the order they were written.
        by_contact = {}
        for webhook_id, event in receiver.accepted:
            data = event["data"]
            contact = data["id"] if event["type"] == "contact.updated" else data["contactId"]
            by_contact.setdefault(contact, []).append(delivery_number(webhook_id))
        for numbers in by_contact.values():
            assert numbers == sorted(numbers)
        texts = [e["data"]["content"]["text"] for e in receiver.events("message.created")
                 if e["data"]["direction"] == "inbound" and e["data"]["contactId"] == gateway.contact_by_phone("+15551238001")["id"]]
        assert texts == ["first", "second"]
        # A created contact is announced with its channel.
        contacts = receiver.events("contact.updated")
        assert any(c["data"].get("phone") == "+15551238002" for c in contacts)
        # The bot's replies go out and their statuses follow.
        wait_for(lambda: any(e["data"]["status"] == "delivered" for e in receiver.events("message.status")),
                 timeout=20, message="a delivered status event")
        listed = gateway.api("GET", "/webhook-deliveries?status=delivered&limit=200", expect=200)["items"]
        retried = [d for d in listed if d["id"] == first_attempted]
        assert retried and retried[0]["attempts"] >= 3 and retried[0]["subscriber"] == "crm"


def test_gone_disables_the_subscriber_until_a_failed_delivery_is_replayed():
    secret = new_secret()
    receiver = Receiver(secret)
    receiver.answer = lambda: (410, {})
    with subscribed_gateway(receiver, secret) as gateway:
        gateway.simulate("--channel", "sms", "--from", "+15551238101", "--text", "hello")
        wait_for(lambda: any(d["lastStatusCode"] == 410 for d in
                             gateway.api("GET", "/webhook-deliveries?status=failed", expect=200)["items"]),
                 timeout=20, message="a delivery failed with 410")
        time.sleep(1)
        failed = gateway.api("GET", "/webhook-deliveries?status=failed", expect=200)["items"]
        assert failed and all(d["state"] == "failed" for d in failed)
        assert not gateway.api("GET", "/webhook-deliveries?status=pending", expect=200)["items"]
        attempts = len(receiver.attempts)
        # Disabled: new changes are not queued for it.
        gateway.simulate("--channel", "sms", "--from", "+15551238101", "--text", "anyone there?")
        time.sleep(1.5)
        assert len(receiver.attempts) == attempts
        assert not gateway.api("GET", "/webhook-deliveries?status=pending", expect=200)["items"]

        # Refusals name the problem.
        assert gateway.api("GET", "/webhook-deliveries?status=lost", expect=400)["error"]["code"] == "invalid_status"
        assert gateway.api("POST", "/webhook-deliveries/whd_999999/retry", expect=404)["error"]["code"] == "delivery_not_found"
        assert gateway.api("POST", "/webhook-deliveries/abc/retry", expect=404)["error"]["code"] == "delivery_not_found"

        # The receiver is back; replaying a failed delivery enables the subscriber again.
        receiver.answer = lambda: (200, {})
        oldest = failed[-1]
        replayed = gateway.api("POST", f"/webhook-deliveries/{oldest['id']}/retry", expect=202)
        assert replayed["state"] == "pending"
        wait_for(lambda: oldest["id"] in [webhook_id for webhook_id, _ in receiver.accepted], timeout=15, message="the replayed delivery")
        gateway.simulate("--channel", "sms", "--from", "+15551238101", "--text", "back again")
        wait_for(lambda: any(e["data"].get("content", {}).get("text") == "back again" for e in receiver.events("message.created")),
                 timeout=15, message="a new event after the replay")
        assert not receiver.refused


def test_a_delivery_is_given_up_after_the_retry_window():
    secret = new_secret()
    receiver = Receiver(secret)
    receiver.answer = lambda: (500, {})
    with subscribed_gateway(receiver, secret, retryForSeconds=2) as gateway:
        gateway.simulate("--channel", "sms", "--from", "+15551238201", "--text", "hello")
        wait_for(lambda: gateway.api("GET", "/webhook-deliveries?status=failed", expect=200)["items"], timeout=20,
                 message="a failed delivery")
        failed = gateway.api("GET", "/webhook-deliveries?status=failed", expect=200)["items"][-1]
        assert failed["attempts"] >= 3 and failed["lastStatusCode"] == 500
        assert "given up after retrying" in failed["lastError"]
        assert failed["nextAttemptAt"] is None and failed["finishedAt"]
