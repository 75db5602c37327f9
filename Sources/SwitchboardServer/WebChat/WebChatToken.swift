import Crypto
import Foundation
import SwitchboardCore

/// Visitor session tokens: `base64url(visitorId "." expiresAtMillis) "." base64url(HMAC-SHA256)`,
/// keyed with a secret the gateway keeps in its database, so tokens survive restarts.
public struct WebChatToken: Sendable {
    private let key: SymmetricKey

    public init(secret: String) {
        self.key = SymmetricKey(data: Array(secret.utf8))
    }

    /// A session as issued to a visitor.
    public struct Session: Codable, Sendable, Equatable {
        public var visitorId: String
        public var token: String
        public var expiresAt: Date
    }

    /// A token for `visitorId` that expires at `expiresAt`, for a session that began at `startedAt`
    /// (renewals keep the first start, so a session has a maximum total age).
    public func issue(visitorId: String, expiresAt: Date, startedAt: Date) -> Session {
        let payload = Array("\(visitorId).\(Timestamp.millis(expiresAt)).\(Timestamp.millis(startedAt))".utf8)
        let mac = HMAC<SHA256>.authenticationCode(for: payload, using: key)
        let token = Base64URL.encode(payload) + "." + Base64URL.encode(Array(mac))
        return Session(visitorId: visitorId, token: token, expiresAt: Timestamp.date(millis: Timestamp.millis(expiresAt)))
    }

    /// What a valid token says: the visitor and when the session began.
    public struct Claims: Sendable, Equatable {
        public var visitorId: String
        /// Nil for tokens issued before sessions had a start (they renew once into one that has).
        public var startedAt: Date?
    }

    /// The token's claims when its signature holds and it has not expired.
    public func claims(for token: String, now: Date) -> Claims? {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, let payload = Base64URL.decode(parts[0]), let mac = Base64URL.decode(parts[1]) else { return nil }
        guard HMAC<SHA256>.isValidAuthenticationCode(mac, authenticating: payload, using: key) else { return nil }
        let fields = String(decoding: payload, as: UTF8.self).split(separator: ".", omittingEmptySubsequences: false)
        guard fields.count == 2 || fields.count == 3, !fields[0].isEmpty, let expiry = Int64(fields[1]), expiry > Timestamp.millis(now)
        else { return nil }
        let started = fields.count == 3 ? Int64(fields[2]).map(Timestamp.date(millis:)) : nil
        if fields.count == 3, started == nil { return nil }
        return Claims(visitorId: String(fields[0]), startedAt: started)
    }

    /// The visitor a token names, when its signature holds and it has not expired.
    public func visitor(for token: String, now: Date) -> String? {
        claims(for: token, now: now)?.visitorId
    }
}
