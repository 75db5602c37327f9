import Crypto
import Foundation

/// Signs outgoing webhooks (today the external bot's requests) as the Standard Webhooks
/// specification describes, so receivers verify them with the official `standardwebhooks`
/// libraries.
///
/// Source: https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md
/// ("Signature scheme"): headers `webhook-id` (the same on every retry of one message),
/// `webhook-timestamp` (integer seconds since the epoch) and `webhook-signature`, a space-separated
/// list of `v1,<base64 HMAC-SHA256>` over `"{id}.{timestamp}.{body}"`. A secret is `whsec_` and the
/// base64 of the key; several secrets at once (rotation) give one signature each, any of which the
/// receiver accepts.
public struct StandardWebhookSigner: Sendable {
    private let keys: [SymmetricKey]
    /// The first secret as written: the key of the former `X-Switchboard-Signature`, which a bot
    /// that has not moved over yet checks.
    public let firstSecret: String

    public struct SecretError: Error, Equatable, CustomStringConvertible {
        public let description: String
    }

    /// `whsec_<base64>` secrets, several separated by spaces or commas while one replaces another;
    /// or one secret without the prefix, taken whole as its UTF-8 bytes (as secrets were before the
    /// change; a receiver then passes the library `whsec_` + base64 of it).
    public init(secrets: String) throws(SecretError) {
        let trimmed = secrets.trimmingWhitespace()
        let split = trimmed.split(whereSeparator: { $0 == " " || $0 == "," }).map(String.init)
        let parts = split.count > 1 && split.allSatisfy({ $0.hasPrefix("whsec_") }) ? split : [trimmed]
        guard let first = parts.first, !first.isEmpty else { throw SecretError(description: "no secret") }
        firstSecret = first
        var keys: [SymmetricKey] = []
        for part in parts {
            if part.hasPrefix("whsec_") {
                guard let bytes = Data(base64Encoded: String(part.dropFirst(6))), !bytes.isEmpty else {
                    throw SecretError(description: "a secret starting with whsec_ must continue in base64")
                }
                guard bytes.count >= 16 else { throw SecretError(description: "a whsec_ secret must hold at least 16 bytes (24 to 64 recommended)") }
                keys.append(SymmetricKey(data: bytes))
            } else {
                guard part.utf8.count >= 16 else { throw SecretError(description: "a secret must be at least 16 characters") }
                keys.append(SymmetricKey(data: Array(part.utf8)))
            }
        }
        self.keys = keys
    }

    /// The three headers for `body` sent as message `id` at `timestamp`.
    public func headers(id: String, timestamp: Date, body: [UInt8]) -> [(name: String, value: String)] {
        let seconds = String(Int64(timestamp.timeIntervalSince1970.rounded(.down)))
        return [
            (name: "webhook-id", value: id),
            (name: "webhook-timestamp", value: seconds),
            (name: "webhook-signature", value: signatures(id: id, timestamp: seconds, body: body).joined(separator: " ")),
        ]
    }

    /// `v1,<base64>` for each secret.
    public func signatures(id: String, timestamp: String, body: [UInt8]) -> [String] {
        var signed = Array("\(id).\(timestamp).".utf8)
        signed.append(contentsOf: body)
        return keys.map { key in "v1," + Data(HMAC<SHA256>.authenticationCode(for: signed, using: key)).base64EncodedString() }
    }

    /// Whether `signatureHeader` holds a `v1` signature of this body by any of the secrets, and the
    /// timestamp is within `tolerance` of `now` (the specification's replay protection).
    public func isValid(
        id: String, timestamp: String, signatureHeader: String, body: [UInt8], now: Date, tolerance: TimeInterval = 300
    ) -> Bool {
        guard let seconds = Int64(timestamp), abs(Double(seconds) - now.timeIntervalSince1970) <= tolerance else { return false }
        let expected = signatures(id: id, timestamp: timestamp, body: body).map { Array($0.utf8) }
        let given = signatureHeader.split(separator: " ").map { Array($0.utf8) }
        var found = false
        for candidate in given {
            for signature in expected where HMACSignature.constantTimeEquals(candidate, signature) { found = true }
        }
        return found
    }
}
