import CurlHTTPClient
import Foundation
import Logging
import RBMAdapter
import SwitchboardCore

/// Access tokens minted from a Google service account (RBM's `RBM_SERVICE_ACCOUNT_FILE`): one
/// cached token, refreshed before it expires and after the API refuses it, with at most one
/// refresh in flight however many sends ask at once.
public actor GoogleAccessTokens: ProviderAuthorization {
    public typealias Fetch = @Sendable () async -> Result<GoogleServiceAccount.AccessToken, GoogleServiceAccount.TokenError>

    private struct Cached {
        var value: String
        var expiresAt: Date
        var refreshAt: Date
    }

    private let fetch: Fetch
    private let now: @Sendable () -> Date
    private let logger: Logger
    private var cached: Cached?
    private var inFlight: Task<Result<GoogleServiceAccount.AccessToken, GoogleServiceAccount.TokenError>, Never>?
    /// After failed fetches, none is tried before this (1 s, doubling to a minute), so an outage of
    /// the token endpoint costs each send no wait once it is known.
    private var retryAt: Date?
    private var failures = 0
    private var lastFailure = ""
    /// Tokens fetched so far, successful or not (for tests and the log).
    public private(set) var fetches = 0

    public init(fetch: @escaping Fetch, logger: Logger, now: @escaping @Sendable () -> Date = Date.init) {
        self.fetch = fetch
        self.logger = logger
        self.now = now
    }

    /// Tokens from `account`'s token endpoint over `client`.
    public init(account: GoogleServiceAccount, client: any HTTPTransport, logger: Logger, now: @escaping @Sendable () -> Date = Date.init) {
        self.init(fetch: {
            let assertion: String
            do {
                assertion = try account.assertion(now: now())
            } catch {
                return .failure(.init(message: "the service account's JWT could not be signed", transient: false))
            }
            let request = account.tokenRequest(assertion: assertion)
            do throws(HTTPClientError) {
                let response = try await client.execute(HTTPClientRequest(
                    method: request.method, url: request.url, headers: request.headers.map { (name: $0.name, value: $0.value) },
                    body: request.body, timeoutMilliseconds: 10_000))
                return GoogleServiceAccount.interpretToken(ProviderResponse(
                    status: response.status, headers: response.headers.map { ProviderHeader($0.name, $0.value) }, body: response.body))
            } catch {
                return .failure(.init(message: "the token endpoint is unreachable: \(error.kind.rawValue)", transient: true))
            }
        }, logger: logger, now: now)
    }

    /// How long before its expiry a token is replaced: five minutes, or a quarter of a short life.
    static func refreshMargin(lifetime: TimeInterval) -> TimeInterval {
        min(300, lifetime / 4)
    }

    public func authorization() async throws(MessageError) -> String {
        let at = now()
        if let cached, at < cached.refreshAt { return "Bearer " + cached.value }
        if let cached, at < cached.expiresAt {
            // Still good: replaced in the background, so no send waits for the token endpoint.
            if retryAt.map({ at >= $0 }) ?? true { _ = startRefresh() }
            return "Bearer " + cached.value
        }
        if inFlight == nil, let retryAt, at < retryAt {
            throw MessageError(code: "provider_auth_unavailable", message: "no RBM access token: \(lastFailure)")
        }
        switch await startRefresh().value {
        case .success(let token):
            return "Bearer " + token.value
        case .failure(let error):
            throw MessageError(code: "provider_auth_unavailable", message: "no RBM access token: \(error.message)")
        }
    }

    public func refused(_ authorization: String) async {
        guard let cached, "Bearer " + cached.value == authorization else { return }
        logger.info("RBM refused the access token: fetching a new one")
        self.cached = nil
    }

    /// The fetch in flight, or a new one; its result is recorded once, whoever waits for it.
    private func startRefresh() -> Task<Result<GoogleServiceAccount.AccessToken, GoogleServiceAccount.TokenError>, Never> {
        if let inFlight { return inFlight }
        let started = now()
        let task = Task { await fetch() }
        inFlight = task
        Task { self.record(await task.value, started: started) }
        return task
    }

    private func record(_ result: Result<GoogleServiceAccount.AccessToken, GoogleServiceAccount.TokenError>, started: Date) {
        inFlight = nil
        fetches += 1
        switch result {
        case .success(let token):
            // Counted from when the request left: the token is never believed to live longer than it does.
            cached = Cached(
                value: token.value, expiresAt: started.addingTimeInterval(token.expiresIn),
                refreshAt: started.addingTimeInterval(token.expiresIn - Self.refreshMargin(lifetime: token.expiresIn)))
            failures = 0
            retryAt = nil
            logger.debug("RBM access token fetched", metadata: ["expires_in_s": "\(Int(token.expiresIn))"])
        case .failure(let error):
            failures += 1
            lastFailure = error.message
            let wait = min(60, pow(2, Double(min(failures, 7) - 1)))
            retryAt = now().addingTimeInterval(wait)
            logger.warning("RBM access token not fetched", metadata: [
                "error": "\(error.message)", "transient": "\(error.transient)", "next_try_s": "\(Int(wait))",
            ])
        }
    }
}
