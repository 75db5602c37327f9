import CurlHTTPClient
import Synchronization

/// An `HTTPTransport` that answers from a script in memory and records every request: the rules
/// around a provider call (retries, `Retry-After`, an outcome that may have reached the provider)
/// tested with a clock of the test's own, no network and no sleeps.
public final class ScriptedTransport: HTTPTransport, Sendable {
    /// What one request gets: an HTTP answer or a transport failure.
    public enum Answer: Sendable {
        case response(HTTPClientResponse)
        case failure(HTTPClientError)

        /// A response with a JSON body.
        public static func json(_ status: Int, _ body: String, headers: [(name: String, value: String)] = []) -> Answer {
            .response(HTTPClientResponse(status: status, headers: [(name: "Content-Type", value: "application/json")] + headers, body: Array(body.utf8)))
        }
    }

    private let state: Mutex<(requests: [HTTPClientRequest], answer: @Sendable (HTTPClientRequest) -> Answer)>

    /// `answer` is asked for each request, in order of arrival.
    public init(_ answer: @escaping @Sendable (HTTPClientRequest) -> Answer) {
        state = Mutex(([], answer))
    }

    /// Answers the requests that follow with `answer` instead.
    public func script(_ answer: @escaping @Sendable (HTTPClientRequest) -> Answer) {
        state.withLock { $0.answer = answer }
    }

    /// Every request so far, oldest first.
    public var requests: [HTTPClientRequest] {
        state.withLock { $0.requests }
    }

    public func execute(_ request: HTTPClientRequest) async throws(HTTPClientError) -> HTTPClientResponse {
        let answer = state.withLock { state in
            state.requests.append(request)
            return state.answer(request)
        }
        switch answer {
        case .response(let response): return response
        case .failure(let error): throw error
        }
    }
}
