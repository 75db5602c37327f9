import Foundation
import Synchronization
import _CryptoExtras

/// Google's OAuth token endpoint as the simulator plays it for a service account: it checks the
/// JWT bearer assertion's RS256 signature with the public key it was given and its claims, and
/// issues access tokens that RBMFake then accepts until they expire.
///
/// Source: https://developers.google.com/identity/protocols/oauth2/service-account ("Making the
/// access token request", "Handling the response"; errors as `{"error", "error_description"}`).
/// Written apart from the gateway's signer on purpose, so a test proves the two agree.
final class GoogleTokenFake: Sendable {
    let publicKey: _RSA.Signing.PublicKey
    /// How long an issued token is really accepted.
    let lifetime: TimeInterval
    /// What `expires_in` says (more than `lifetime` plays a token revoked early: the gateway then
    /// learns it from RBM's 401).
    let advertisedLifetime: TimeInterval
    private let issued = Mutex<[String: Date]>([:])

    static let scope = "https://www.googleapis.com/auth/rcsbusinessmessaging"

    init(publicKeyPEM: String, lifetime: TimeInterval, advertisedLifetime: TimeInterval?) throws {
        self.publicKey = try _RSA.Signing.PublicKey(pemRepresentation: publicKeyPEM)
        self.lifetime = lifetime
        self.advertisedLifetime = advertisedLifetime ?? lifetime
    }

    struct Answer: Sendable {
        var status: Int
        var body: [String: JSONValue]
    }

    /// `POST /token` with `grant_type` and `assertion`; `audience` is the URL the request was made
    /// to, which the assertion's `aud` must name.
    func token(form: [(String, String)], audience: String, now: Date = Date()) -> Answer {
        let fields = Dictionary(form, uniquingKeysWith: { first, _ in first })
        guard fields["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer" else {
            return Self.error("unsupported_grant_type", "Invalid grant_type: \(fields["grant_type"] ?? "")")
        }
        guard let assertion = fields["assertion"] else { return Self.error("invalid_request", "Missing required parameter: assertion") }
        let parts = assertion.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let headerData = Self.base64URL(parts[0]), let claimsData = Self.base64URL(parts[1]),
              let signature = Self.base64URL(parts[2]),
              let header = (try? JSONSerialization.jsonObject(with: headerData)) as? [String: Any],
              let claims = (try? JSONSerialization.jsonObject(with: claimsData)) as? [String: Any]
        else { return Self.error("invalid_grant", "Invalid JWT: not a JWS in compact serialization.") }
        guard header["alg"] as? String == "RS256" else { return Self.error("invalid_grant", "Invalid JWT: alg must be RS256.") }
        let signingInput = Array((parts[0] + "." + parts[1]).utf8)
        guard publicKey.isValidSignature(.init(rawRepresentation: signature), for: signingInput, padding: .insecurePKCS1v1_5) else {
            return Self.error("invalid_grant", "Invalid JWT Signature.")
        }
        guard let issuer = claims["iss"] as? String, !issuer.isEmpty else { return Self.error("invalid_grant", "Invalid JWT: iss is missing.") }
        guard claims["aud"] as? String == audience else {
            return Self.error("invalid_grant", "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim. (aud)")
        }
        guard let scope = claims["scope"] as? String, scope.split(separator: " ").contains(Substring(Self.scope)) else {
            return Self.error("invalid_scope", "The scope does not include \(Self.scope).")
        }
        guard let iat = (claims["iat"] as? NSNumber)?.doubleValue, let exp = (claims["exp"] as? NSNumber)?.doubleValue,
              exp > now.timeIntervalSince1970, iat <= now.timeIntervalSince1970 + 300, exp - iat <= 3600, exp > iat
        else {
            return Self.error("invalid_grant", "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.")
        }
        let token = "ya29.sim-" + (0..<24).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
        issued.withLock { tokens in
            tokens = tokens.filter { $0.value > now }
            tokens[token] = now.addingTimeInterval(lifetime)
        }
        return Answer(status: 200, body: [
            "access_token": .string(token), "expires_in": .number(advertisedLifetime.rounded()), "token_type": .string("Bearer"),
        ])
    }

    /// Whether `token` was issued here and has not expired.
    func accepts(_ token: String, now: Date = Date()) -> Bool {
        issued.withLock { $0[token].map { now < $0 } ?? false }
    }

    static func error(_ code: String, _ description: String) -> Answer {
        Answer(status: 400, body: ["error": .string(code), "error_description": .string(description)])
    }

    static func base64URL(_ text: Substring) -> Data? {
        var standard = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while standard.utf8.count % 4 != 0 { standard += "=" }
        return Data(base64Encoded: standard)
    }
}
