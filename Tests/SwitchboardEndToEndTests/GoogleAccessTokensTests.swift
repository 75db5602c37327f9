import Foundation
import Logging
import RBMAdapter
import SwitchboardCore
import SwitchboardServer
import Synchronization
import Testing

/// The service-account token cache, on a test clock with a counting token endpoint.
@Suite("RBM access tokens")
struct GoogleAccessTokensTests {
    final class Endpoint: Sendable {
        let clock = Mutex(Date(timeIntervalSince1970: 1_000_000))
        let answers = Mutex<[Result<GoogleServiceAccount.AccessToken, GoogleServiceAccount.TokenError>]>([])
        let calls = Atomic<Int>(0)

        func now() -> Date { clock.withLock { $0 } }
        func advance(_ seconds: TimeInterval) { clock.withLock { $0 = $0.addingTimeInterval(seconds) } }

        /// Each call answers the next queued result, or a fresh token living an hour.
        func fetch() async -> Result<GoogleServiceAccount.AccessToken, GoogleServiceAccount.TokenError> {
            let number = calls.add(1, ordering: .relaxed).newValue
            try? await Task.sleep(for: .milliseconds(20))
            return answers.withLock { $0.isEmpty ? nil : $0.removeFirst() }
                ?? .success(.init(value: "token-\(number)", expiresIn: 3600))
        }

        func tokens() -> GoogleAccessTokens {
            GoogleAccessTokens(fetch: { await self.fetch() }, logger: Logger(label: "test"), now: { self.now() })
        }
    }

    @Test("many sends at once wait for one token request")
    func singleFlight() async throws {
        let endpoint = Endpoint()
        let tokens = endpoint.tokens()
        let values = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<20 { group.addTask { try await tokens.authorization() } }
            return try await group.reduce(into: [String]()) { $0.append($1) }
        }
        #expect(Set(values) == ["Bearer token-1"])
        #expect(endpoint.calls.load(ordering: .relaxed) == 1)
    }

    /// Waits until `count` fetches have finished and been recorded (background ones included).
    func settle(_ tokens: GoogleAccessTokens, fetches count: Int) async throws {
        for _ in 0..<500 where await tokens.fetches < count { try await Task.sleep(for: .milliseconds(10)) }
        #expect(await tokens.fetches == count)
    }

    @Test("a token is replaced in the background from five minutes before it expires; sends never wait for it")
    func refreshAhead() async throws {
        let endpoint = Endpoint()
        let tokens = endpoint.tokens()
        #expect(try await tokens.authorization() == "Bearer token-1")
        endpoint.advance(3600 - 301)
        #expect(try await tokens.authorization() == "Bearer token-1")
        try await settle(tokens, fetches: 1)
        #expect(endpoint.calls.load(ordering: .relaxed) == 1)
        endpoint.advance(2)
        // Due for replacement, still valid: answered at once, replaced behind the send.
        #expect(try await tokens.authorization() == "Bearer token-1")
        try await settle(tokens, fetches: 2)
        #expect(try await tokens.authorization() == "Bearer token-2")
        #expect(endpoint.calls.load(ordering: .relaxed) == 2)
    }

    @Test("a short-lived token is replaced a quarter of its life early")
    func shortLife() async throws {
        let endpoint = Endpoint()
        endpoint.answers.withLock { $0 = [.success(.init(value: "short", expiresIn: 8))] }
        let tokens = endpoint.tokens()
        #expect(try await tokens.authorization() == "Bearer short")
        endpoint.advance(5.9)
        #expect(try await tokens.authorization() == "Bearer short")
        try await settle(tokens, fetches: 1)
        #expect(endpoint.calls.load(ordering: .relaxed) == 1)
        endpoint.advance(0.2)
        #expect(try await tokens.authorization() == "Bearer short")
        try await settle(tokens, fetches: 2)
        #expect(try await tokens.authorization() == "Bearer token-2")
    }

    @Test("a refused token is not handed out again; refusing an older one changes nothing")
    func refused() async throws {
        let endpoint = Endpoint()
        let tokens = endpoint.tokens()
        #expect(try await tokens.authorization() == "Bearer token-1")
        await tokens.refused("Bearer token-1")
        #expect(try await tokens.authorization() == "Bearer token-2")
        await tokens.refused("Bearer token-1")
        #expect(try await tokens.authorization() == "Bearer token-2")
        #expect(endpoint.calls.load(ordering: .relaxed) == 2)
    }

    @Test("an endpoint outage: the valid token is still used, then sends are told why at once, with backoff between tries")
    func failures() async throws {
        let endpoint = Endpoint()
        let tokens = endpoint.tokens()
        #expect(try await tokens.authorization() == "Bearer token-1")
        endpoint.answers.withLock {
            $0 = [.failure(.init(message: "the token endpoint answered 503", transient: true)),
                  .failure(.init(message: "the token endpoint answered 400 invalid_grant", transient: false))]
        }
        endpoint.advance(3600 - 100)
        #expect(try await tokens.authorization() == "Bearer token-1")
        try await settle(tokens, fetches: 2)
        #expect(endpoint.calls.load(ordering: .relaxed) == 2)
        endpoint.advance(200)
        let error = await #expect(throws: MessageError.self) { try await tokens.authorization() }
        #expect(error?.code == "provider_auth_unavailable")
        #expect(error?.message.contains("invalid_grant") == true)
        try await settle(tokens, fetches: 3)
        // Two failures in a row: no new try for two seconds, and no send waits meanwhile.
        let again = await #expect(throws: MessageError.self) { try await tokens.authorization() }
        #expect(again?.message.contains("invalid_grant") == true)
        #expect(endpoint.calls.load(ordering: .relaxed) == 3)
        endpoint.advance(2.5)
        #expect(try await tokens.authorization() == "Bearer token-4")
    }
}
