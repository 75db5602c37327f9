#!/usr/bin/env python3
"""Writes signed Twilio inbound-SMS webhook requests for wrk, one file per wrk thread.

Each line is, separated by tabs, the path, the signature header's name and value, the content type
and the form body (the format Benchmarks/replay.lua reads). The signature follows
Twilio's algorithm (HMAC-SHA1 with the auth token over the public URL followed by the sorted
parameters' names and values, base64), the same as TwilioSignature in the gateway.
"""
import base64
import hashlib
import hmac
import sys
import urllib.parse

out_dir, public_url, auth_token, account_sid, threads, per_thread = sys.argv[1:7]
threads, per_thread = int(threads), int(per_thread)
url = public_url.rstrip("/") + "/webhooks/twilio/sms"
key = auth_token.encode()
for thread in range(threads):
    with open(f"{out_dir}/twilio-{thread + 1}.tsv", "w") as out:
        for index in range(per_thread):
            sid = "SM%032x" % (thread * per_thread + index)
            phone = "+1555%07d" % ((thread * per_thread + index) % 100000)
            params = [("AccountSid", account_sid), ("ApiVersion", "2010-04-01"), ("Body", "benchmark message %d" % index),
                      ("From", phone), ("MessageSid", sid), ("NumMedia", "0"), ("NumSegments", "1"),
                      ("SmsMessageSid", sid), ("SmsSid", sid), ("SmsStatus", "received"), ("To", "+15550001111")]
            signed = url + "".join(k + v for k, v in sorted(params))
            signature = base64.b64encode(hmac.new(key, signed.encode(), hashlib.sha1).digest()).decode()
            out.write("\t".join(["/webhooks/twilio/sms", "X-Twilio-Signature", signature, "application/x-www-form-urlencoded",
                                 urllib.parse.urlencode(params)]) + "\n")
