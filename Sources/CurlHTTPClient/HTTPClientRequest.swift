/// An HTTP request for `CurlHTTPClient`.
public struct HTTPClientRequest: Sendable {
    public var method: String
    public var url: String
    /// Header lines in order; a name may repeat.
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]
    /// The whole exchange, connection included, must finish within this many milliseconds.
    public var timeoutMilliseconds: Int
    /// `HOST:PORT:ADDRESS` entries (libcurl's CURLOPT_RESOLVE): the host is reached only at these
    /// addresses, which the caller has checked, instead of whatever DNS answers at connect time.
    public var pinnedAddresses: [String] = []

    public init(
        method: String = "GET", url: String, headers: [(name: String, value: String)] = [], body: [UInt8] = [],
        timeoutMilliseconds: Int = 10_000
    ) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.timeoutMilliseconds = timeoutMilliseconds
    }
}

/// The answer to an `HTTPClientRequest`.
public struct HTTPClientResponse: Sendable {
    public var status: Int
    /// Header lines of the final response, in order.
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    public init(status: Int, headers: [(name: String, value: String)], body: [UInt8]) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// The first value of a header, matched without regard to case.
    public func header(_ name: String) -> String? {
        let wanted = name.lowercased()
        return headers.first { $0.name.lowercased() == wanted }?.value
    }
}

/// Why a request got no HTTP answer. `isTransient` tells whether trying again may help;
/// `requestMayHaveBeenSent` whether the server may have acted on the request all the same.
public struct HTTPClientError: Error, Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        case invalidRequest
        case timeout
        case resolveFailed
        case connectFailed
        case connectionLost
        case tls
        case responseTooLarge
        case cancelled
        case shutdown
        case other
    }

    public var kind: Kind
    /// libcurl's own explanation, when the error came from libcurl.
    public var message: String
    /// False only when the request certainly never left: libcurl had not connected and begun to
    /// send it (DNS failure, connection refused, a connect timeout, a request refused before use).
    /// True when it may have reached the server, which may then have acted on it (a timeout while
    /// waiting for the answer, a connection reset mid-response): repeating a non-idempotent request
    /// then risks doing it twice.
    public var requestMayHaveBeenSent: Bool

    public init(kind: Kind, message: String, requestMayHaveBeenSent: Bool = false) {
        self.kind = kind
        self.message = message
        self.requestMayHaveBeenSent = requestMayHaveBeenSent
    }

    /// Whether the same request may succeed later (timeouts, connection trouble).
    public var isTransient: Bool {
        switch kind {
        case .timeout, .resolveFailed, .connectFailed, .connectionLost: true
        case .invalidRequest, .tls, .responseTooLarge, .cancelled, .shutdown, .other: false
        }
    }

    public var description: String {
        "\(kind.rawValue): \(message)" + (requestMayHaveBeenSent ? " (the request may have reached the server)" : "")
    }
}
