import CurlHTTPClient
import Foundation
import GRDB
import Hummingbird
import Logging
import MessengerAdapter
import NIOCore
import RBMAdapter
import ServiceLifecycle
import SwitchboardCore
import SwitchboardServer
import SwitchboardSimulator
import SwitchboardStorage
import SwitchboardTesting
import Synchronization
import Testing
import TwilioSMSAdapter

/// A real gateway and a real simulator on ephemeral loopback ports, with a temporary SQLite file.
/// The gateway believes it is reached at `publicURL` (as behind a proxy), so signatures must cover that.
struct TestEnvironment: Sendable {
    static let accountSid = "AC11111111111111111111111111111111"
    static let authToken = "test-auth-token"
    static let ourNumber = "+15550009999"
    static let publicURL = "https://switchboard.example.com"
    static let accounts: ProviderAccounts = {
        var twilio = TwilioConfigurationSection()
        (twilio.accountSid, twilio.authToken, twilio.from) = (accountSid, authToken, ourNumber)
        var messenger = MessengerConfigurationSection()
        (messenger.appSecret, messenger.verifyToken, messenger.pageAccessToken, messenger.pageId) =
            ("test-app-secret", "test-verify-token", "test-page-token", "1000000000000001")
        var rbm = RBMConfigurationSection()
        (rbm.agentId, rbm.clientToken, rbm.accessToken) = ("test-agent", "test-client-token", "test-rbm-access-token")
        return ProviderAccounts([twilio, messenger, rbm])
    }()
    /// The Messenger page the simulated people write to.
    static var pageId: String { accounts[MessengerConfigurationSection.self]?.pageId ?? "" }
    static var appSecret: String { accounts[MessengerConfigurationSection.self]?.appSecret ?? "" }

    let gateway: Gateway
    let simulator: Simulator
    let gatewayURL: String
    let simulatorURL: String
    let databasePath: String
    let client: CurlHTTPClient
    let sender: InboundWebhookSender
    /// The gateway's clock: real time plus whatever a test advanced it by.
    let clock: TestClock
    let apiToken = "test-api-token"

    /// Starts both servers (`SwitchboardSandbox`, the one builder of "gateway and simulator on
    /// loopback"), runs `body`, and stops them gracefully (in-flight requests finish first, as in
    /// production).
    static func with(
        statusCallbacks: Bool = false,
        configure: @escaping @Sendable (inout GatewayConfiguration) -> Void = { _ in },
        _ body: @Sendable (TestEnvironment) async throws -> Void
    ) async throws {
        let clock = TestClock()
        var options = SwitchboardSandbox.Options()
        options.accounts = accounts
        options.publicURL = publicURL
        options.apiToken = "test-api-token"
        options.statusCallbacks = statusCallbacks
        options.logLevel = ProcessInfo.processInfo.environment["TEST_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .critical
        options.now = { clock.now() }
        let sandbox = try await SwitchboardSandbox.start(options) { configuration in
            // Retries within a test's patience.
            configuration.outbox.retryBaseSeconds = 0.05
            configuration.outbox.retryMaxSeconds = 0.2
            configure(&configuration)
        }
        let client = CurlHTTPClient()
        defer { client.shutdown() }
        let environment = TestEnvironment(
            gateway: sandbox.gateway, simulator: sandbox.simulator, gatewayURL: sandbox.gatewayURL, simulatorURL: sandbox.simulatorURL,
            databasePath: sandbox.gateway.configuration.sqlitePath ?? "", client: client, sender: sandbox.sender, clock: clock)
        let outcome: Result<Void, any Error>
        do {
            try await body(environment)
            outcome = .success(())
        } catch {
            outcome = .failure(error)
        }
        await sandbox.stop()
        try outcome.get()
    }

    /// The gateway's SQLite store (these tests run on the embedded database).
    var sqlite: SQLiteStore {
        get throws {
            guard let store = gateway.store as? SQLiteStore else { throw TestEnvironmentError("the gateway is not on SQLite") }
            return store
        }
    }

    /// Rows in a table, read straight from the SQLite file.
    func count(_ table: String, where condition: String = "1") async throws -> Int {
        try await sqlite.pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \(table) WHERE \(condition)") ?? 0 }
    }

    /// A call to the gateway's API with the bearer token.
    func api(_ method: String = "GET", _ path: String, token: String? = nil, body: String? = nil) async throws -> HTTPClientResponse {
        var headers: [(name: String, value: String)] = [(name: "Authorization", value: "Bearer \(token ?? apiToken)")]
        if body != nil { headers.append((name: "Content-Type", value: "application/json")) }
        return try await client.execute(HTTPClientRequest(
            method: method, url: gatewayURL + path, headers: headers, body: Array((body ?? "").utf8)))
    }

    /// A raw request to the gateway.
    func raw(_ method: String, _ path: String, headers: [(name: String, value: String)] = [], body: [UInt8] = []) async throws -> HTTPClientResponse {
        try await client.execute(HTTPClientRequest(method: method, url: gatewayURL + path, headers: headers, body: body))
    }

    /// Queues a fault in the simulator's fake provider APIs.
    func fault(_ fault: SimulatedFault) async {
        await simulator.scenario.add(fault)
    }

    /// An agent reply through the API.
    func agentReply(_ contactId: String, channel: String? = nil, content: String) async throws -> HTTPClientResponse {
        let channelField = channel.map { #""channel":"\#($0)","# } ?? ""
        return try await api("POST", "/api/v1/contacts/\(contactId)/messages", body: #"{\#(channelField)"content":\#(content),"author":{"name":"Grace"}}"#)
    }

    /// The first contact, newest activity first.
    func firstContact() async throws -> Contact {
        try #require(try await gateway.store.contacts(limit: 1, cursor: nil).items.first)
    }

    /// What the fake providers received.
    func providerRequests() async -> [RecordedRequest] {
        await simulator.recorder.all()
    }
}

/// Waits until `condition` holds, checking every 20 ms, for at most `seconds`.
func eventually(
    _ what: String, seconds: Double = 10, sourceLocation: SourceLocation = #_sourceLocation,
    _ condition: @Sendable () async throws -> Bool
) async throws {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if try await condition() { return }
        try await Task.sleep(nanoseconds: 20_000_000)
    }
    Issue.record("timed out waiting for: \(what)", sourceLocation: sourceLocation)
    throw TimedOut()
}

struct TimedOut: Error {}

/// A clock tests can move forward (the Messenger window, retries' due times).
final class TestClock: Sendable {
    private let offset = Mutex<TimeInterval>(0)

    func now() -> Date {
        Date().addingTimeInterval(offset.withLock { $0 })
    }

    func advance(by seconds: TimeInterval) {
        offset.withLock { $0 += seconds }
    }
}

/// A port number announced once by `onServerRunning`.
final class PortBox: Sendable {
    private let state = Mutex<(port: Int?, waiters: [CheckedContinuation<Int, Never>])>((nil, []))

    func set(_ port: Int) {
        let waiters = state.withLock { state -> [CheckedContinuation<Int, Never>] in
            state.port = port
            defer { state.waiters.removeAll() }
            return state.waiters
        }
        for waiter in waiters { waiter.resume(returning: port) }
    }

    func value() async throws -> Int {
        let port = await withCheckedContinuation { continuation in
            let ready = state.withLock { state -> Int? in
                if let port = state.port { return port }
                state.waiters.append(continuation)
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
        guard port > 0 else { throw TimedOut() }
        return port
    }
}

extension HTTPClientResponse {
    var text: String { String(decoding: body, as: UTF8.self) }

    func json() throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] ?? [:]
    }

    /// The `error.code` of the contract's error shape.
    var errorCode: String? {
        ((try? json())?["error"] as? [String: Any])?["code"] as? String
    }
}

/// Runs `group`, waits for `started`, runs `body`, then shuts the group down gracefully (also when
/// `body` failed, whose error is rethrown afterwards): a server a test needs beside the gateway.
func whileRunning(
    _ group: ServiceGroup, started: @Sendable () async throws -> Void = {}, _ body: @Sendable () async throws -> Void
) async throws {
    try await withThrowingTaskGroup(of: Void.self) { tasks in
        tasks.addTask { try await group.run() }
        let outcome: Result<Void, any Error>
        do {
            try await started()
            try await body()
            outcome = .success(())
        } catch {
            outcome = .failure(error)
        }
        await group.triggerGracefulShutdown()
        try await tasks.waitForAll()
        try outcome.get()
    }
}

struct TestEnvironmentError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
