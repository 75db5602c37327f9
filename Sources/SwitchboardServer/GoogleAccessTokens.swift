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
    /// Tokens fetched so far (for tests and the log).
    public private(set) var fetches = 0

    public init(fetch: @escaping Fetch, logger: Logger, now: @escaping @Sendable () -> Date = Date.init) {
        self.fetch = fetch
        self.logger = logger
        self.now = now
    }

    /// Tokens from `account`'s token endpoint over `client`.
    public init(account: GoogleServiceAccount, client: CurlHTTPClient, logger: Logger, now: @escaping @Sendable () -> Date = Date.init) {
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
        if let cached, now() < cached.refreshAt { return "Bearer " + cached.value }
        switch await refresh() {
        case .success(let token):
            return "Bearer " + token.value
        case .failure(let error):
            // A refresh ahead of expiry that failed leaves the current token usable until it expires.
            if let cached, now() < cached.expiresAt { return "Bearer " + cached.value }
            throw MessageError(code: "provider_auth_unavailable", message: "no RBM access token: \(error.message)")
        }
    }

    public func refused(_ authorization: String) async {
        guard let cached, "Bearer " + cached.value == authorization else { return }
        logger.info("RBM refused the access token: fetching a new one")
        self.cached = nil
    }

    private func refresh() async -> Result<GoogleServiceAccount.AccessToken, GoogleServiceAccount.TokenError> {
        if let inFlight { return await inFlight.value }
        let started = now()
        let task = Task { await fetch() }
        inFlight = task
        let result = await task.value
        inFlight = nil
        fetches += 1
        switch result {
        case .success(let token):
            // Counted from when the request left: the token is never believed to live longer than it does.
            cached = Cached(
                value: token.value, expiresAt: started.addingTimeInterval(token.expiresIn),
                refreshAt: started.addingTimeInterval(token.expiresIn - Self.refreshMargin(lifetime: token.expiresIn)))
            logger.debug("RBM access token fetched", metadata: ["expires_in_s": "\(Int(token.expiresIn))"])
        case .failure(let error):
            logger.warning("RBM access token not fetched", metadata: ["error": "\(error.message)", "transient": "\(error.transient)"])
        }
        return result
    }
}
