#!/usr/bin/env python3
"""Writes signed inbound webhooks of all three providers for wrk, one file per wrk thread, in turns:
a Twilio SMS, a Messenger batch of 10 messages (one entry, ten `messaging` events), an RBM user
message (Pub/Sub push). Each line: path, signature header name, its value, content type, body,
separated by tabs. The signatures are the providers' (as in the gateway's adapters):
- Twilio: base64 HMAC-SHA1 (auth token) over the URL and the sorted form parameters;
- Messenger: X-Hub-Signature-256 = "sha256=" + hex HMAC-SHA256 (app secret) over the raw body;
- RBM: X-Goog-Signature = base64 HMAC-SHA512 (client token) over the base64-decoded message.data.
"""
import base64
import hashlib
import hmac
import json
import sys
import urllib.parse

out_dir, public_url, config_path, threads, per_thread = sys.argv[1:6]
threads, per_thread = int(threads), int(per_thread)
config = json.load(open(config_path))
twilio, messenger, rbm = config["twilio"], config["messenger"], config["rbm"]
base = public_url.rstrip("/")

def twilio_sms(n):
    sid = "SM%032x" % (0x7000000 + n)
    params = [("AccountSid", twilio["accountSid"]), ("ApiVersion", "2010-04-01"), ("Body", "mixed sms %d" % n),
              ("From", "+1559%07d" % (n % 100000)), ("MessageSid", sid), ("NumMedia", "0"), ("NumSegments", "1"),
              ("SmsMessageSid", sid), ("SmsSid", sid), ("SmsStatus", "received"), ("To", twilio["from"])]
    signed = base + "/webhooks/twilio/sms" + "".join(k + v for k, v in sorted(params))
    signature = base64.b64encode(hmac.new(twilio["authToken"].encode(), signed.encode(), hashlib.sha1).digest()).decode()
    return "/webhooks/twilio/sms", "X-Twilio-Signature", signature, "application/x-www-form-urlencoded", urllib.parse.urlencode(params)

def messenger_batch(n):
    events = [{"sender": {"id": "9%015d" % ((n * 10 + i) % 100000)}, "recipient": {"id": messenger["pageId"]},
               "timestamp": 1764000000000 + n, "message": {"mid": "m_mixed_%d_%d" % (n, i), "text": "mixed messenger %d.%d" % (n, i)}}
              for i in range(10)]
    body = json.dumps({"object": "page", "entry": [{"id": messenger["pageId"], "time": 1764000000000 + n, "messaging": events}]},
                      separators=(",", ":"))
    signature = "sha256=" + hmac.new(messenger["appSecret"].encode(), body.encode(), hashlib.sha256).hexdigest()
    return "/webhooks/messenger", "X-Hub-Signature-256", signature, "application/json", body

def rbm_message(n):
    data = json.dumps({"senderPhoneNumber": "+1554%07d" % (n % 100000), "messageId": "rbm-mixed-%d" % n,
                       "sendTime": "2026-11-25T10:00:00.000Z", "agentId": rbm["agentId"], "text": "mixed rcs %d" % n},
                      separators=(",", ":")).encode()
    body = json.dumps({"message": {"data": base64.b64encode(data).decode(), "messageId": str(n), "publishTime": "2026-11-25T10:00:00.000Z"},
                       "subscription": "projects/rbm-%s/subscriptions/rbm-agent-subscription" % rbm["agentId"]}, separators=(",", ":"))
    signature = base64.b64encode(hmac.new(rbm["clientToken"].encode(), data, hashlib.sha512).digest()).decode()
    return "/webhooks/rbm", "X-Goog-Signature", signature, "application/json", body

makers = [twilio_sms, messenger_batch, rbm_message]
for thread in range(threads):
    with open(f"{out_dir}/mixed-{thread + 1}.tsv", "w") as out:
        for index in range(per_thread):
            n = thread * per_thread + index
            out.write("\t".join(makers[index % 3](n)) + "\n")
