/// A provider's webhook call as an adapter sees it: the bytes and headers, nothing of the server.
public struct WebhookRequest: Sendable {
    /// `GET` or `POST`.
    public var method: String
    /// The URL as the provider called it: the configured public base URL, the path and the raw query.
    public var publicURL: String
    /// Query parameters, decoded, in their order.
    public var query: [(String, String)]
    /// Header values by lower-cased name.
    public var headers: [String: String]
    /// The raw body.
    public var body: [UInt8]

    public init(method: String, publicURL: String, query: [(String, String)] = [], headers: [String: String], body: [UInt8]) {
        self.method = method
        self.publicURL = publicURL
        self.query = query
        self.headers = headers
        self.body = body
    }

    /// The header's value; `name` is matched without regard to case.
    public func header(_ name: String) -> String? {
        // Names are usually given lower-cased already: then no copy through lowercased().
        if !name.utf8.contains(where: { (65...90).contains($0) }) { return headers[name] }
        return headers[name.lowercased()]
    }

    /// The media type of the body without parameters, lower-cased (`application/json`).
    public var mediaType: String? {
        guard let value = headers["content-type"] else { return nil }
        // Searched as bytes: a search by Character would break the value into grapheme clusters.
        let base = value.utf8.firstIndex(of: UInt8(ascii: ";")).map { value[..<$0] } ?? value[...]
        // Usually already bare and lower-case: then no copy through trimming and lower-casing.
        if !base.utf8.contains(where: { (65...90).contains($0) || $0 == 32 || $0 == 9 }) { return String(base) }
        return String(base).trimmingWhitespace().lowercased()
    }
}

/// Why an adapter refused a webhook. Each case maps to one HTTP status (see docs/api.md).
public enum WebhookError: Error, Sendable, Equatable {
    /// The signature is missing or does not match: 403.
    case badSignature(String)
    /// The body cannot be parsed: 400.
    case malformed(String)
    /// The body is not of the media type the provider sends: 415.
    case unsupportedMediaType(String)
    /// The body parses but lacks what the provider always sends: 422.
    case invalid(String)

    /// A sentence for the error response and the log.
    public var reason: String {
        switch self {
        case .badSignature(let text), .malformed(let text), .unsupportedMediaType(let text), .invalid(let text):
            text
        }
    }
}

/// What a provider expects as the answer to an accepted webhook.
public struct WebhookAcknowledgement: Sendable, Equatable {
    public var status: Int
    public var contentType: String
    public var body: String

    public init(status: Int = 200, contentType: String, body: String) {
        self.status = status
        self.contentType = contentType
        self.body = body
    }
}
