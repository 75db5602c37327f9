import Foundation
import SwitchboardCore
import _CryptoExtras

/// A Google service-account key, as the Cloud console downloads it (`"type": "service_account"`,
/// `client_email`, `private_key` in PKCS#8 PEM, `private_key_id`, `token_uri`), and the signed JWT
/// it exchanges for an access token.
///
/// Source: "Using OAuth 2.0 for Server to Server Applications", "Preparing to make an authorized API
/// call" → "HTTP/REST" (https://developers.google.com/identity/protocols/oauth2/service-account):
/// a JWT with header `{"alg":"RS256","typ":"JWT"}` and claims `iss`, `scope`, `aud` (the
/// `token_uri`), `iat` and `exp` (at most one hour later), signed with RSA SHA-256, posted to
/// `token_uri` as `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=…`.
public struct GoogleServiceAccount: Sendable, Equatable {
    public let clientEmail: String
    public let privateKeyId: String?
    /// Where the signed JWT is exchanged for an access token (`https://oauth2.googleapis.com/token`).
    public let tokenURI: String
    let privateKey: _RSA.Signing.PrivateKey

    /// RBM's OAuth scope.
    public static let rbmScope = "https://www.googleapis.com/auth/rcsbusinessmessaging"
    /// The longest lifetime Google accepts for an assertion.
    public static let maxAssertionLifetime: TimeInterval = 3600

    /// Why a key file cannot be used; the text names the field, never the key.
    public struct KeyError: Error, Equatable, CustomStringConvertible {
        public let description: String
        public init(description: String) {
            self.description = description
        }
    }

    /// Reads a key file's JSON. `token_uri` must be `https:`, or `http:` to a loopback address (the
    /// simulator).
    public init(json: [UInt8]) throws(KeyError) {
        guard let object = try? JSONSerialization.jsonObject(with: Data(json)) as? [String: Any] else {
            throw KeyError(description: "not a JSON object")
        }
        if let type = object["type"] as? String, type != "service_account" {
            throw KeyError(description: "type is '\(type)', not 'service_account'")
        }
        guard let email = object["client_email"] as? String, !email.isEmpty, email.utf8.count <= 320 else {
            throw KeyError(description: "client_email is missing")
        }
        guard let pem = object["private_key"] as? String, !pem.isEmpty else {
            throw KeyError(description: "private_key is missing")
        }
        let tokenURI = object["token_uri"] as? String ?? "https://oauth2.googleapis.com/token"
        guard Self.isAcceptableTokenURI(tokenURI) else {
            throw KeyError(description: "token_uri must be an https: URL (or http: to a loopback address)")
        }
        let key: _RSA.Signing.PrivateKey
        do {
            key = try _RSA.Signing.PrivateKey(pemRepresentation: pem)
        } catch {
            throw KeyError(description: "private_key is not an RSA private key of 2048 bits or more in PEM")
        }
        self.init(clientEmail: email, privateKey: key, tokenURI: tokenURI, privateKeyId: object["private_key_id"] as? String)
    }

    public init(clientEmail: String, privateKey: _RSA.Signing.PrivateKey, tokenURI: String, privateKeyId: String? = nil) {
        self.clientEmail = clientEmail
        self.privateKey = privateKey
        self.tokenURI = tokenURI
        self.privateKeyId = privateKeyId
    }

    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.clientEmail == rhs.clientEmail && lhs.privateKeyId == rhs.privateKeyId && lhs.tokenURI == rhs.tokenURI
            && lhs.privateKey.derRepresentation == rhs.privateKey.derRepresentation
    }

    /// The public half, for whoever checks the assertions (the simulator's token endpoint).
    public var publicKeyPEM: String { privateKey.publicKey.pemRepresentation }

    static func isAcceptableTokenURI(_ text: String) -> Bool {
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), let host = url.host, !host.isEmpty else { return false }
        if scheme == "https" { return true }
        return scheme == "http" && ["127.0.0.1", "localhost", "::1", "[::1]"].contains(host.lowercased())
    }

    /// The signed JWT (RS256) asking for `scope`, valid from `now` for `lifetime` seconds (capped
    /// at one hour). `iss` and `sub` are the service account's email.
    public func assertion(scope: String = Self.rbmScope, now: Date, lifetime: TimeInterval = Self.maxAssertionLifetime) throws -> String {
        let issuedAt = Int64(now.timeIntervalSince1970.rounded(.down))
        let expires = issuedAt + Int64(min(max(lifetime, 60), Self.maxAssertionLifetime))
        var header: [String: Any] = ["alg": "RS256", "typ": "JWT"]
        if let privateKeyId { header["kid"] = privateKeyId }
        let claims: [String: Any] = [
            "iss": clientEmail, "sub": clientEmail, "scope": scope, "aud": tokenURI, "iat": issuedAt, "exp": expires,
        ]
        let signingInput = Base64URL.encode(try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys]))
            + "." + Base64URL.encode(try JSONSerialization.data(withJSONObject: claims, options: [.sortedKeys, .withoutEscapingSlashes]))
        let signature = try privateKey.signature(for: Array(signingInput.utf8), padding: .insecurePKCS1v1_5)
        return signingInput + "." + Base64URL.encode(signature.rawRepresentation)
    }

    /// The token request: the assertion form-encoded to `token_uri`.
    public func tokenRequest(assertion: String) -> ProviderRequest {
        ProviderRequest(
            method: "POST", url: tokenURI,
            headers: [ProviderHeader("Content-Type", "application/x-www-form-urlencoded")],
            body: Array(FormURLEncoding.encode([
                ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"), ("assertion", assertion),
            ]).utf8))
    }

    /// An access token and how long it lives.
    public struct AccessToken: Sendable, Equatable {
        public var value: String
        public var expiresIn: TimeInterval
        public init(value: String, expiresIn: TimeInterval) {
            self.value = value
            self.expiresIn = expiresIn
        }
    }

    /// What the token endpoint answered: `{"access_token", "expires_in", "token_type": "Bearer"}`,
    /// or an OAuth error (`{"error", "error_description"}`; 5xx and 429 are worth another try).
    public static func interpretToken(_ response: ProviderResponse) -> Result<AccessToken, TokenError> {
        let object = (try? JSONSerialization.jsonObject(with: Data(response.body))) as? [String: Any]
        guard (200..<300).contains(response.status) else {
            let code = object?["error"] as? String ?? "http_\(response.status)"
            let detail = (object?["error_description"] as? String).map { ": " + $0.prefix(200) } ?? ""
            return .failure(TokenError(
                message: "the token endpoint answered \(response.status) \(code)\(detail)",
                transient: response.status >= 500 || response.status == 429))
        }
        guard let token = object?["access_token"] as? String, !token.isEmpty, token.utf8.count <= 4096,
              token.utf8.allSatisfy({ $0 > 32 && $0 < 127 })
        else {
            return .failure(TokenError(message: "the token endpoint's answer has no usable access_token", transient: true))
        }
        if let type = object?["token_type"] as? String, type.lowercased() != "bearer" {
            return .failure(TokenError(message: "the token endpoint issued a '\(type.prefix(40))' token, not Bearer", transient: false))
        }
        // expires_in is a number of seconds; anything odd counts as Google's usual hour, bounded.
        let seconds = (object?["expires_in"] as? NSNumber)?.doubleValue ?? 3600
        let expiresIn = seconds.isFinite ? min(max(seconds, 1), 86_400) : 3600
        return .success(AccessToken(value: token, expiresIn: expiresIn))
    }

    /// Why no access token was had.
    public struct TokenError: Error, Equatable, CustomStringConvertible {
        public var message: String
        /// Worth trying again later (the endpoint failed or was unreachable), not a refusal.
        public var transient: Bool
        public init(message: String, transient: Bool) {
            self.message = message
            self.transient = transient
        }
        public var description: String { message }
    }
}
