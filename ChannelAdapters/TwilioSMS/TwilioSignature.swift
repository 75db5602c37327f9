import Crypto
import Foundation
import SwitchboardCore

/// Twilio's `X-Twilio-Signature`: base64 of HMAC-SHA1, keyed with the account's auth token, over the
/// full URL Twilio requested followed by every POST parameter as `name + value`, sorted by name
/// (values of a repeated name sorted too).
///
/// Sources: twilio/twilio-python `twilio/request_validator.py` (`compute_signature`, port handling)
/// and twilio/twilio-node `src/webhooks/webhooks.ts` (`validateRequest`, which accepts the URL with
/// and without the default port "since signature generation on the back end is inconsistent").
public struct TwilioSignature: Sendable {
    private let key: SymmetricKey
    /// HMAC already keyed: each webhook copies it rather than deriving the inner and outer keys again.
    private let keyed: HMAC<Insecure.SHA1>

    public init(authToken: String) {
        self.key = SymmetricKey(data: Array(authToken.utf8))
        self.keyed = HMAC<Insecure.SHA1>(key: key)
    }

    /// The signature Twilio would send for `url` and form `parameters`.
    public func compute(url: String, parameters: [(String, String)]) -> String {
        let hmac = HMAC<Insecure.SHA1>.authenticationCode(for: Self.signedBytes(url: url, sorted: Self.sorted(parameters)), using: key)
        return Data(hmac).base64EncodedString()
    }

    /// Whether `signature` is Twilio's for this request, compared in constant time (swift-crypto's
    /// `isValidAuthenticationCode`, on the decoded bytes). The URL is tried as given first, then
    /// without its port and with the scheme's default port. (Which variant matched is no secret: the
    /// URL is public; only the comparison must not leak.)
    public func isValid(signature: String, url: String, parameters: [(String, String)]) -> Bool {
        // Exactly the base64 Twilio sends: a decoder ignores the spare bits of the last character,
        // so other spellings of the same bytes are refused as a string comparison would (the
        // header is compared with its own re-encoding, which tells nothing of the key).
        guard let expected = Data(base64Encoded: signature), expected.count == Insecure.SHA1.byteCount,
              expected.base64EncodedString() == signature
        else { return false }
        let sorted = Self.sorted(parameters)
        if matches(expected, Self.signedBytes(url: url, sorted: sorted)) {
            return true
        }
        for candidate in Self.urlVariants(url).dropFirst() where matches(expected, Self.signedBytes(url: candidate, sorted: sorted)) {
            return true
        }
        return false
    }

    /// Whether `expected` is the HMAC of `message`, compared in constant time (swift-crypto's `==`
    /// between an authentication code and bytes is its `safeCompare`).
    private func matches(_ expected: Data, _ message: [UInt8]) -> Bool {
        var mac = keyed
        mac.update(data: message)
        return mac.finalize() == expected
    }

    /// The parameters sorted by name, then value, as bytes (Python's `sorted` on the pairs).
    static func sorted(_ parameters: [(String, String)]) -> [(String, String)] {
        parameters.sorted { lhs, rhs in
            lhs.0 == rhs.0 ? lhs.1.utf8.lexicographicallyPrecedes(rhs.1.utf8) : lhs.0.utf8.lexicographicallyPrecedes(rhs.0.utf8)
        }
    }

    /// What Twilio signs: the URL, then each sorted pair's name and value.
    static func signedBytes(url: String, sorted: [(String, String)]) -> [UInt8] {
        var message = [UInt8]()
        message.reserveCapacity(url.utf8.count + sorted.reduce(0) { $0 + $1.0.utf8.count + $1.1.utf8.count })
        message.append(contentsOf: url.utf8)
        var previous: (String, String)?
        for pair in sorted {
            // twilio-python and twilio-node drop exact duplicate pairs before signing.
            if let previous, previous == pair { continue }
            message.append(contentsOf: pair.0.utf8)
            message.append(contentsOf: pair.1.utf8)
            previous = pair
        }
        return message
    }

    /// The URL as given, without an explicit port, and with the default port for its scheme.
    static func urlVariants(_ url: String) -> [String] {
        guard let schemeEnd = url.range(of: "://") else { return [url] }
        let scheme = url[..<schemeEnd.lowerBound].lowercased()
        let afterScheme = url[schemeEnd.upperBound...]
        let authorityEnd = afterScheme.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? afterScheme.endIndex
        let authority = afterScheme[..<authorityEnd]
        let rest = afterScheme[authorityEnd...]
        let prefix = url[..<schemeEnd.upperBound]
        // Split off a port, minding bracketed IPv6 hosts and user info.
        let hostPart = authority.split(separator: "@", omittingEmptySubsequences: false).last ?? authority
        var host = Substring(hostPart)
        var hasPort = false
        if let colon = hostPart.lastIndex(of: ":"), !hostPart[colon...].contains("]") {
            host = hostPart[..<colon]
            hasPort = true
        }
        let userInfo = authority.count > hostPart.count ? String(authority.dropLast(hostPart.count)) : ""
        var variants = [url]
        if hasPort {
            variants.append(prefix + userInfo + host + rest)
        } else if let port = ["https": "443", "http": "80"][scheme] {
            variants.append(prefix + userInfo + host + ":" + port + rest)
        }
        return variants
    }
}
