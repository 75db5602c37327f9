import Foundation
import SwitchboardCore
import Testing

@Suite("Standard Webhooks signatures")
struct StandardWebhookSignerTests {
    /// The specification's published example (standard-webhooks, its libraries' test suites).
    static let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    static let id = "msg_p5jXN8AQM9LWM0D4loKWxJek"
    static let body = Array(#"{"test": 2432232314}"#.utf8)
    static let at = Date(timeIntervalSince1970: 1_614_265_330)

    @Test("the published vector")
    func vector() throws {
        let signer = try StandardWebhookSigner(secrets: Self.secret)
        let headers = signer.headers(id: Self.id, timestamp: Self.at, body: Self.body)
        #expect(headers.map(\.name) == ["webhook-id", "webhook-timestamp", "webhook-signature"])
        #expect(headers.map(\.value) == [Self.id, "1614265330", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="])
        #expect(signer.isValid(
            id: Self.id, timestamp: "1614265330", signatureHeader: "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", body: Self.body,
            now: Self.at.addingTimeInterval(10)))
    }

    @Test("rotation: one signature per secret, any of them accepted")
    func rotation() throws {
        let both = try StandardWebhookSigner(secrets: "whsec_" + Data(repeating: 7, count: 32).base64EncodedString() + " " + Self.secret)
        let signature = both.headers(id: Self.id, timestamp: Self.at, body: Self.body)[2].value
        let parts = signature.split(separator: " ")
        #expect(parts.count == 2)
        #expect(parts[1] == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
        let oldOnly = try StandardWebhookSigner(secrets: Self.secret)
        #expect(oldOnly.isValid(id: Self.id, timestamp: "1614265330", signatureHeader: signature, body: Self.body, now: Self.at))
    }

    @Test("tampering, stale timestamps and wrong secrets fail")
    func refusals() throws {
        let signer = try StandardWebhookSigner(secrets: Self.secret)
        let good = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        #expect(!signer.isValid(id: Self.id, timestamp: "1614265330", signatureHeader: good, body: Self.body + [32], now: Self.at))
        #expect(!signer.isValid(id: "msg_other", timestamp: "1614265330", signatureHeader: good, body: Self.body, now: Self.at))
        #expect(!signer.isValid(id: Self.id, timestamp: "1614265330", signatureHeader: good, body: Self.body, now: Self.at.addingTimeInterval(301)))
        #expect(!signer.isValid(id: Self.id, timestamp: "16142653.30", signatureHeader: good, body: Self.body, now: Self.at))
        #expect(!signer.isValid(id: Self.id, timestamp: "1614265330", signatureHeader: "v2," + good.dropFirst(3), body: Self.body, now: Self.at))
        let other = try StandardWebhookSigner(secrets: "a-raw-secret-of-enough-length")
        #expect(!other.isValid(id: Self.id, timestamp: "1614265330", signatureHeader: good, body: Self.body, now: Self.at))
    }

    @Test("a raw secret signs with its UTF-8 bytes, as whsec_ plus its base64 would")
    func rawSecret() throws {
        let raw = "a-bot-secret-of-length"
        let viaRaw = try StandardWebhookSigner(secrets: raw).signatures(id: "m", timestamp: "1", body: [1, 2])
        let viaWhsec = try StandardWebhookSigner(secrets: "whsec_" + Data(raw.utf8).base64EncodedString()).signatures(id: "m", timestamp: "1", body: [1, 2])
        #expect(viaRaw == viaWhsec)
    }

    @Test("a raw secret is taken whole, spaces and commas included; only whsec_ secrets are listed")
    func rawSecretWhole() throws {
        let raw = "correct horse, battery staple"
        let signer = try StandardWebhookSigner(secrets: raw)
        #expect(signer.firstSecret == raw)
        #expect(signer.signatures(id: "m", timestamp: "1", body: [1]).count == 1)
        #expect(signer.signatures(id: "m", timestamp: "1", body: [1])
            == (try StandardWebhookSigner(secrets: "whsec_" + Data(raw.utf8).base64EncodedString())).signatures(id: "m", timestamp: "1", body: [1]))
        let rotating = try StandardWebhookSigner(secrets: Self.secret + ", " + "whsec_" + Data(repeating: 1, count: 24).base64EncodedString())
        #expect(rotating.firstSecret == Self.secret)
        #expect(rotating.signatures(id: "m", timestamp: "1", body: [1]).count == 2)
    }

    @Test("unusable secrets are refused with the reason", arguments: ["", " , ", "short", "whsec_!!!", "whsec_" + Data(count: 8).base64EncodedString()])
    func badSecrets(secret: String) {
        #expect(throws: StandardWebhookSigner.SecretError.self) { try StandardWebhookSigner(secrets: secret) }
    }
}
