"""Proactive sends, `POST /api/v1/messages`, against a real gateway process and its simulator: the
contact made from the address, one SMS per Idempotency-Key (also across a restart), and the
refusals that name the problem."""

import time
import uuid

from conftest import wait_for


def twilio_sends(gateway, to):
    return [request for request in gateway.provider_requests("twilio")
            if request["method"] == "POST" and 200 <= request["responseStatus"] < 300
            and dict(map(tuple, request["form"] or [])).get("To") == to]


def test_one_sms_per_idempotency_key_also_across_a_restart(gateway):
    key = str(uuid.uuid4())
    body = {"to": {"channel": "sms", "address": "+1 (555) 123-7100"}, "content": {"text": "Your order shipped"},
            "author": {"kind": "system", "name": "orders"}}
    first = gateway.api("POST", "/messages", body, expect=202, headers={"Idempotency-Key": key})
    assert first["status"] == "queued" and first["direction"] == "outbound" and first["author"] == {"kind": "system", "name": "orders"}
    again = gateway.api("POST", "/messages", body, expect=200, headers={"Idempotency-Key": key})
    assert again["id"] == first["id"]
    wait_for(lambda: len(twilio_sends(gateway, "+15551237100")) == 1, message="the SMS at the fake Twilio")
    contact = gateway.contact_by_phone("+15551237100")
    assert contact["id"] == first["contactId"]

    # The simulator runs in the gateway's process: after the restart it has seen nothing, and
    # the same key must not make it see anything.
    gateway.restart()
    after = gateway.api("POST", "/messages", body, expect=200, headers={"Idempotency-Key": key})
    assert after["id"] == first["id"]
    reused = gateway.api("POST", "/messages", {**body, "content": {"text": "Something else"}}, expect=422,
                         headers={"Idempotency-Key": key})
    assert reused["error"]["code"] == "idempotency_key_reused"
    time.sleep(1.0)
    assert twilio_sends(gateway, "+15551237100") == []
    trail = gateway.api("GET", f"/contacts/{first['contactId']}/messages", expect=200)["items"]
    assert [message["id"] for message in trail] == [first["id"]]

    # Without a key every request is a message of its own.
    one = gateway.api("POST", "/messages", body, expect=202)
    two = gateway.api("POST", "/messages", body, expect=202)
    assert one["id"] != two["id"]
    wait_for(lambda: len(twilio_sends(gateway, "+15551237100")) == 2, message="two more SMS")


def test_refusals_name_the_problem(gateway):
    def post(body, status, headers=None):
        return gateway.api("POST", "/messages", body, expect=status, headers=headers)["error"]

    text = {"text": "hi"}
    error = post({"to": {"channel": "sms", "address": "5551230000"}, "content": text}, 422)
    assert error["code"] == "invalid_address" and "E.164" in error["message"]
    assert post({"to": {"channel": "fax", "address": "+15551230000"}, "content": text}, 422)["code"] == "invalid_channel"
    assert post({"to": {"channel": "sms", "address": "+15551230000"}, "content": text, "author": {"kind": "contact"}}, 422)["code"] == "invalid_author"
    assert post({"to": {"channel": "sms"}, "content": text}, 400)["code"] == "malformed_body"
    assert post({"to": {"channel": "sms", "address": "+15551230000"}, "content": text}, 400,
                headers={"Idempotency-Key": "has space"})["code"] == "invalid_idempotency_key"
    # Messenger: a PSID that never wrote is outside the window.
    error = post({"to": {"channel": "messenger", "address": "1254459154682919"}, "content": text}, 409)
    assert error["code"] == "outside_messaging_window"
    # A contact who sent STOP is not written to.
    gateway.simulate("--channel", "sms", "--from", "+15551237101", "--text", "STOP")
    wait_for(lambda: gateway.api("GET", "/contacts?query=%2B15551237101", expect=200)["items"]
             and gateway.contact_by_phone("+15551237101")["subscriptions"].get("sms") is False, message="the unsubscribe")
    assert post({"to": {"channel": "sms", "address": "+15551237101"}, "content": text}, 409)["code"] == "unsubscribed"
    # A phone that wrote on SMS is found for RCS too (one contact per phone).
    gateway.simulate("--channel", "sms", "--from", "+15551237102", "--text", "hello")
    wait_for(lambda: gateway.api("GET", "/contacts?query=%2B15551237102", expect=200)["items"], message="the contact")
    known = gateway.contact_by_phone("+15551237102")
    rcs = gateway.api("POST", "/messages", {"to": {"channel": "rcs", "address": "+15551237102"}, "content": text}, expect=202)
    assert rcs["contactId"] == known["id"] and rcs["channel"] == "rcs"
