import CurlHTTPClient
import Foundation
import GRDB
import SwitchboardStorage
import SwitchboardCore
import SwitchboardServer
import SwitchboardSimulator
import Testing

/// Bad webhooks get a clear status and the JSON error shape, and nothing is stored.
@Suite("Webhook refusals")
struct WebhookRefusalTests {
    @Test("an unsigned webhook gets 403 and stores nothing")
    func unsigned() async throws {
        try await TestEnvironment.with { env in
            let form = env.sender.twilioSMSForm(from: "+15551230000", text: "no signature")
            let response = try await env.raw(
                "POST", "/webhooks/twilio/sms",
                headers: [(name: "Content-Type", value: "application/x-www-form-urlencoded")],
                body: Array(FormURLEncoding.encode(form).utf8))
            #expect(response.status == 403)
            #expect(response.errorCode == "bad_signature")
            #expect(response.header("Content-Type")?.hasPrefix("application/json") == true)
            try await expectNothingStored(env)
        }
    }

    @Test("a wrongly signed webhook gets 403 and stores nothing")
    func wrongSignature() async throws {
        try await TestEnvironment.with { env in
            let form = env.sender.twilioSMSForm(from: "+15551230000", text: "forged")
            let response = try await env.sender.postTwilio(form: form, signature: "bm90IGEgc2lnbmF0dXJl")
            #expect(response.status == 403)
            // A body changed after signing: also refused.
            var tampered = form
            tampered[tampered.firstIndex { $0.0 == "Body" }!].1 = "changed after signing"
            let signed = TwilioSignatureForTests.sign(url: TestEnvironment.publicURL + "/webhooks/twilio/sms", form: form)
            let tamperedResponse = try await env.sender.postTwilio(form: tampered, signature: signed)
            #expect(tamperedResponse.status == 403)
            try await expectNothingStored(env)
        }
    }

    @Test("a signature over the listen address instead of the public URL is refused")
    func signatureOverWrongURL() async throws {
        try await TestEnvironment.with { env in
            let form = env.sender.twilioSMSForm(from: "+15551230000", text: "wrong url")
            let signed = TwilioSignatureForTests.sign(url: env.gatewayURL + "/webhooks/twilio/sms", form: form)
            let response = try await env.sender.postTwilio(form: form, signature: signed)
            #expect(response.status == 403)
            try await expectNothingStored(env)
        }
    }

    @Test("wrong media type 415, malformed form 400, missing MessageSid 422, too large 413, unknown route 404")
    func badInput() async throws {
        try await TestEnvironment.with(configure: { $0.maxBodyBytes = 4096 }) { env in
            let json = try await env.raw(
                "POST", "/webhooks/twilio/sms", headers: [(name: "Content-Type", value: "application/json")],
                body: Array(#"{"Body":"hi"}"#.utf8))
            #expect(json.status == 415)
            #expect(json.errorCode == "unsupported_media_type")

            let malformed = try await env.raw(
                "POST", "/webhooks/twilio/sms",
                headers: [(name: "Content-Type", value: "application/x-www-form-urlencoded"), (name: "X-Twilio-Signature", value: "x")],
                body: Array("Body=%ZZ".utf8))
            #expect(malformed.status == 400)
            #expect(malformed.errorCode == "malformed_body")

            let noSid = try await env.sender.postTwilio(form: [("From", "+15551230000"), ("Body", "hi")])
            #expect(noSid.status == 422)

            let large = env.sender.twilioSMSForm(from: "+15551230000", text: String(repeating: "x", count: 8000))
            let tooLarge = try await env.sender.postTwilio(form: large)
            #expect(tooLarge.status == 413)
            #expect(tooLarge.body.contains("payload_too_large"))

            let unknown = try await env.raw("POST", "/webhooks/carrier-pigeon")
            #expect(unknown.status == 404)
            #expect(unknown.errorCode == "not_found")
            try await expectNothingStored(env)
        }
    }

    @Test("a channel without secrets answers 404 channel_disabled")
    func disabledChannel() async throws {
        try await TestEnvironment.with(configure: { $0.twilio = nil }) { env in
            let response = try await env.sender.sendSMS(from: "+15551230000", text: "hi")
            #expect(response.status == 404)
            #expect(response.body.contains("channel_disabled"))
            try await expectNothingStored(env)
        }
    }

    @Test("the API refuses requests without the bearer token")
    func apiNeedsToken() async throws {
        try await TestEnvironment.with { env in
            let missing = try await env.raw("GET", "/api/v1/contacts")
            #expect(missing.status == 401)
            #expect(missing.errorCode == "unauthorized")
            let wrong = try await env.api("GET", "/api/v1/contacts", token: "not-the-token")
            #expect(wrong.status == 401)
            let badLimit = try await env.api("GET", "/api/v1/contacts?limit=0")
            #expect(badLimit.status == 400)
            #expect(badLimit.errorCode == "invalid_limit")
            let badCursor = try await env.api("GET", "/api/v1/contacts?cursor=nonsense")
            #expect(badCursor.errorCode == "invalid_cursor")
            let noContact = try await env.api("GET", "/api/v1/contacts/ct_missing")
            #expect(noContact.status == 404)
            #expect(noContact.errorCode == "contact_not_found")
            #expect(try await env.raw("GET", "/healthz").status == 200)
            #expect(try await env.raw("GET", "/readyz").status == 200)
        }
    }

    @Test("without a configured token the API refuses everything")
    func apiWithoutConfiguredToken() async throws {
        try await TestEnvironment.with(configure: { $0.apiToken = nil }) { env in
            let response = try await env.api("GET", "/api/v1/contacts")
            #expect(response.status == 401)
            #expect(response.errorCode == "api_token_not_configured")
        }
    }

    func expectNothingStored(_ env: TestEnvironment, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        #expect(try await env.count("messages") == 0, sourceLocation: sourceLocation)
        #expect(try await env.count("contacts") == 0, sourceLocation: sourceLocation)
        #expect(try await env.count("processed_provider_ids") == 0, sourceLocation: sourceLocation)
        #expect(await env.providerRequests().isEmpty, sourceLocation: sourceLocation)
    }
}

import TwilioSMSAdapter

enum TwilioSignatureForTests {
    static func sign(url: String, form: [(String, String)]) -> String {
        TwilioSignature(authToken: TestEnvironment.authToken).compute(url: url, parameters: form)
    }
}

@Suite("Storage failures")
struct StorageFailureTests {
    @Test("a webhook that cannot be stored gets 503 and leaves nothing behind; the provider's retry is stored")
    func storageFailureIsNotAcknowledged() async throws {
        try await TestEnvironment.with { env in
            try await env.sqlite.pool.write { db in
                try db.execute(sql: "CREATE TRIGGER refuse BEFORE INSERT ON messages BEGIN SELECT RAISE(ABORT, 'simulated disk failure'); END")
            }
            let form = env.sender.twilioSMSForm(from: "+15551230099", text: "please keep me", messageSid: "SM" + String(repeating: "f", count: 32))
            let refused = try await env.sender.postTwilio(form: form)
            #expect(refused.status == 503)
            #expect(refused.body.contains("storage_unavailable"))
            #expect(try await env.count("processed_provider_ids") == 0)
            #expect(try await env.count("contacts") == 0)

            try await env.sqlite.pool.write { db in try db.execute(sql: "DROP TRIGGER refuse") }
            let retried = try await env.sender.postTwilio(form: form)
            #expect(retried.status == 200)
            #expect(try await env.count("messages", where: "direction = 'inbound'") == 1)
        }
    }

    @Test("while another process holds the database's write lock, webhooks answer 503; afterwards the retry is stored once")
    func databaseLocked() async throws {
        try await TestEnvironment.with { (env: TestEnvironment) async throws in
            // Another connection takes SQLite's write lock (BEGIN IMMEDIATE) on its own thread and
            // keeps it until released; the gateway waits its busy timeout (5 s), then refuses.
            let other = try DatabaseQueue(path: env.databasePath)
            let release = DispatchSemaphore(value: 0)
            // Waiting for the lock is not done on the test's own (cooperative) thread.
            await withCheckedContinuation { (locked: CheckedContinuation<Void, Never>) in
                Thread {
                    try? other.inDatabase { db in
                        try db.execute(sql: "BEGIN IMMEDIATE")
                        locked.resume()
                        release.wait()
                        try db.execute(sql: "ROLLBACK")
                    }
                }.start()
            }
            let form = env.sender.twilioSMSForm(from: "+15551237000", text: "while locked")
            let refused = try await env.sender.postTwilio(form: form)
            release.signal()
            #expect(refused.status == 503)
            #expect(refused.body.contains("storage_unavailable"))
            let retried = try await env.sender.postTwilio(form: form)
            #expect(retried.status == 200)
            #expect(try await env.count("messages", where: "direction = 'inbound'") == 1)
        }
    }
}

@Suite("Metrics")
struct MetricsTests {
    @Test("GET /metrics is Prometheus text with the gateway's counters")
    func prometheus() async throws {
        try await TestEnvironment.with { env in
            _ = try await env.sender.sendSMS(from: "+15551236000", text: "count me")
            _ = try await env.sender.postTwilio(form: env.sender.twilioSMSForm(from: "+15551236000", text: "x"), signature: "bad")
            try await eventually("the reply is sent") {
                try await env.count("messages", where: "direction = 'outbound' AND status = 'sent'") == 1
            }
            #expect(try await env.raw("GET", "/metrics").status == 401)
            let metrics = try await env.raw("GET", "/metrics", headers: [(name: "Authorization", value: "Bearer \(env.apiToken)")])
            #expect(metrics.status == 200)
            #expect(metrics.header("Content-Type")?.hasPrefix("text/plain") == true)
            #expect(metrics.text.contains(#"switchboard_inbound_messages_total{channel="sms"}"#))
            #expect(metrics.text.contains(#"switchboard_webhooks_refused_total{channel="sms",reason="bad_signature"}"#))
            #expect(metrics.text.contains(#"switchboard_outbound_attempts_total{channel="sms",result="sent"}"#))
        }
    }
}
