/// One outbound HTTP exchange, request in and response out: what the outbox, the capability
/// lookups, the bots' and event webhooks' dispatchers and the token cache need of HTTP.
/// `CurlHTTPClient` is the real one; `SwitchboardTesting.ScriptedTransport` answers from a script
/// in memory, so the rules around a call can be tested without a network or a clock that runs.
public protocol HTTPTransport: Sendable {
    func execute(_ request: HTTPClientRequest) async throws(HTTPClientError) -> HTTPClientResponse
}

extension CurlHTTPClient: HTTPTransport {}
