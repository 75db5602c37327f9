import Crypto
import Foundation
import SwitchboardCore

/// Public, unguessable and expiring media URLs: `PUBLIC_URL/media/{id}?expires={unix seconds}&signature={hex}`,
/// the signature HMAC-SHA256 over `{id}.{expires}` with a key every instance shares (kept in the
/// database). Providers fetch outbound media through them, and the console's `<img>` loads the
/// gateway's copies with them (it cannot send the API token).
public struct MediaURLSigner: Sendable {
    let key: SymmetricKey
    public let publicURL: String
    /// How long a URL works, in seconds.
    public let lifetime: Int

    public init(secret: String, publicURL: String, lifetime: Int) {
        self.key = SymmetricKey(data: Array(secret.utf8))
        self.publicURL = publicURL
        self.lifetime = lifetime
    }

    func signature(id: String, expires: Int64) -> String {
        HMACSignature.hex(HMAC<SHA256>.authenticationCode(for: Array("\(id).\(expires)".utf8), using: key))
    }

    /// The URL of `id`, working until `now` plus the lifetime.
    public func url(for id: String, now: Date) -> String {
        let expires = Int64(now.timeIntervalSince1970.rounded(.down)) + Int64(lifetime)
        return "\(publicURL)/media/\(id)?expires=\(expires)&signature=\(signature(id: id, expires: expires))"
    }

    /// Why a presented URL does not open its file; nil when it does.
    public enum Refusal: Equatable, Sendable {
        case malformed, badSignature, expired
    }

    public func check(id: String, expires: String?, signature presented: String?, now: Date) -> Refusal? {
        guard let expires, let seconds = Int64(expires), let presented, presented.utf8.count == 64 else { return .malformed }
        let expected = signature(id: id, expires: seconds)
        guard HMACSignature.constantTimeEquals(Array(expected.utf8), Array(presented.lowercased().utf8)) else { return .badSignature }
        guard Double(seconds) >= now.timeIntervalSince1970 else { return .expired }
        return nil
    }
}
