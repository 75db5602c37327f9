import CurlHTTPClient
import Foundation
import Hummingbird
import Logging
import MessengerAdapter
import RBMAdapter
import ServiceLifecycle
import SwitchboardCore
import SwitchboardServer
import SwitchboardSimulator
import Synchronization
import TwilioSMSAdapter
import _CryptoExtras

/// A gateway and the provider simulator in process, on ephemeral loopback ports, with a temporary
/// SQLite file: for a bot developer's own tests.
///
/// ```swift
/// let sandbox = try await SwitchboardSandbox.start { $0.bot.kind = .flow }
/// defer { Task { await sandbox.stop() } }
/// try await sandbox.send(.sms(from: "+15551230000", text: "hi"))
/// let reply = try await sandbox.expectReply(to: "+15551230000")
/// ```
public final class SwitchboardSandbox: Sendable {
    /// What a simulated contact sends.
    public enum Inbound: Sendable {
        case sms(from: String, text: String)
        case rcs(from: String, text: String, payload: String? = nil)
        case messenger(psid: String, text: String, payload: String? = nil)
    }

    public let gateway: Gateway
    public let simulator: Simulator
    public let gatewayURL: String
    /// The simulator's address (its inspection API: `/_simulator/requests`).
    public let simulatorURL: String
    /// The providers' accounts both sides use.
    public let accounts: ProviderAccounts
    /// Signs and posts inbound webhooks as the providers do.
    public let sender: InboundWebhookSender
    let client: CurlHTTPClient
    /// The public URL the gateway believes providers call, and its API token.
    public let publicURL: String
    public let apiToken: String
    let groups: [ServiceGroup]
    let running: Task<Void, any Error>
    let directory: URL
    /// Replies already returned by `expectReply`, per address.
    let consumed = Mutex<[String: Int]>([:])

    init(gateway: Gateway, simulator: Simulator, gatewayURL: String, simulatorURL: String, accounts: ProviderAccounts,
         sender: InboundWebhookSender, client: CurlHTTPClient, publicURL: String, apiToken: String, groups: [ServiceGroup],
         running: Task<Void, any Error>, directory: URL) {
        self.publicURL = publicURL
        self.apiToken = apiToken
        self.gateway = gateway
        self.simulator = simulator
        self.gatewayURL = gatewayURL
        self.simulatorURL = simulatorURL
        self.accounts = accounts
        self.sender = sender
        self.client = client
        self.groups = groups
        self.running = running
        self.directory = directory
    }

    /// The public URL the sandboxed gateway believes providers call.
    public static let publicURL = "https://sandbox.switchboard.test"

    /// RBM authorized by a service account rather than a static token: the sandbox writes a fresh
    /// key file whose `token_uri` is the simulator's token endpoint, which issues tokens that live
    /// `lifetime` seconds and says they live `advertisedLifetime` (more plays a token revoked early).
    public struct RBMServiceAccount: Sendable {
        public var lifetime: Double
        public var advertisedLifetime: Double?
        public init(lifetime: Double = 3600, advertisedLifetime: Double? = nil) {
            self.lifetime = lifetime
            self.advertisedLifetime = advertisedLifetime
        }
    }

    /// The sandbox's providers' accounts, unless `Options.accounts` names others.
    public static let defaultAccounts: ProviderAccounts = {
        var twilio = TwilioConfigurationSection()
        (twilio.accountSid, twilio.authToken, twilio.from) = ("AC" + String(repeating: "5", count: 32), "sandbox-twilio-token", "+15550001111")
        var messenger = MessengerConfigurationSection()
        (messenger.appSecret, messenger.verifyToken, messenger.pageAccessToken, messenger.pageId) =
            ("sandbox-app-secret", "sandbox-verify", "sandbox-page-token", "1000000000000009")
        var rbm = RBMConfigurationSection()
        (rbm.agentId, rbm.clientToken, rbm.accessToken) = ("sandbox-agent", "sandbox-client-token", "sandbox-rbm-token")
        return ProviderAccounts([twilio, messenger, rbm])
    }()

    /// How the sandbox is built: every kind of test builds its gateway and simulator here.
    public struct Options: Sendable {
        public var accounts = SwitchboardSandbox.defaultAccounts
        public var publicURL = SwitchboardSandbox.publicURL
        public var apiToken = "sandbox-api-token"
        /// Whether the simulator sends status callbacks for accepted messages, as the providers do.
        public var statusCallbacks = true
        public var rbmServiceAccount: RBMServiceAccount?
        public var logLevel: Logger.Level = .warning
        /// The gateway's clock (tests move it forward).
        public var now: @Sendable () -> Date = { Date() }

        public init() {}
    }

    /// Starts both servers. `configure` adjusts the gateway's configuration (the bot, limits).
    public static func start(
        rbmServiceAccount: RBMServiceAccount? = nil, configure: @Sendable (inout GatewayConfiguration) -> Void = { _ in }
    ) async throws -> SwitchboardSandbox {
        var options = Options()
        options.rbmServiceAccount = rbmServiceAccount
        return try await start(options, configure: configure)
    }

    /// Starts both servers as `options` say. `configure` adjusts the gateway's configuration.
    public static func start(
        _ options: Options, configure: @Sendable (inout GatewayConfiguration) -> Void = { _ in }
    ) async throws -> SwitchboardSandbox {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("switchboard-sandbox-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var logger = Logger(label: "switchboard.sandbox")
        logger.logLevel = options.logLevel
        let rbmServiceAccount = options.rbmServiceAccount
        let serviceAccountKey = try rbmServiceAccount.map { _ in try _RSA.Signing.PrivateKey(keySize: .bits2048) }
        let serviceAccountFile = directory.appendingPathComponent("rbm-service-account.json")
        // The key file names the simulator's token endpoint, known only once the simulator listens.
        func writeServiceAccount(_ key: _RSA.Signing.PrivateKey, tokenURI: String) throws {
            let json: [String: String] = [
                "type": "service_account", "project_id": "sandbox", "private_key_id": "sandbox-key-1",
                "private_key": key.pkcs8PEMRepresentation,
                "client_email": "switchboard@sandbox.iam.gserviceaccount.com", "token_uri": tokenURI,
            ]
            try JSONSerialization.data(withJSONObject: json, options: [.sortedKeys]).write(to: serviceAccountFile)
        }
        var accounts = options.accounts
        if let serviceAccountKey {
            // The simulator's token endpoint accepts the JWTs of the key in the section's file.
            try writeServiceAccount(serviceAccountKey, tokenURI: "http://127.0.0.1:1/token")
            var rbm = accounts[RBMConfigurationSection.self] ?? RBMConfigurationSection()
            (rbm.accessToken, rbm.serviceAccountFile) = (nil, serviceAccountFile.path)
            accounts[RBMConfigurationSection.self] = rbm
        }
        let client = CurlHTTPClient()
        let callbacks = options.statusCallbacks
            ? StatusCallbacks(accounts: accounts, delayMilliseconds: 20, client: client, logger: logger) : nil
        var simulatorSettings = SimulatorSettings(host: "127.0.0.1", port: 0, accounts: accounts)
        if let rbmServiceAccount {
            simulatorSettings.rbmTokenLifetimeSeconds = rbmServiceAccount.lifetime
            simulatorSettings.rbmTokenAdvertisedLifetimeSeconds = rbmServiceAccount.advertisedLifetime
        }
        let simulator = Simulator(settings: simulatorSettings, callbacks: callbacks, logger: logger)
        let simulatorPort = AsyncPort()
        let simulatorGroup = ServiceGroup(configuration: .init(
            services: [simulator.buildApplication { simulatorPort.set($0.localAddress?.port ?? -1) }], logger: logger))
        let simulatorTask = Task { try await simulatorGroup.run() }
        let simPort = try await simulatorPort.value()

        var configuration = GatewayConfiguration()
        configuration.port = 0
        // The listen port is known only once bound, so providers "call" a fixed public URL (as behind a proxy).
        configuration.publicURL = options.publicURL
        configuration.database = "sqlite:" + directory.appendingPathComponent("sandbox.sqlite").path
        configuration.apiToken = options.apiToken
        configuration.outbox.pollIntervalSeconds = 0.05
        // Every provider channel's section is the account the simulator plays, its API the simulator.
        configuration.providerAccounts = accounts.pointed(at: "http://127.0.0.1:\(simPort)")
        if let serviceAccountKey {
            try writeServiceAccount(serviceAccountKey, tokenURI: "http://127.0.0.1:\(simPort)/token")
        }
        configure(&configuration)
        try configuration.validate()

        let gateway = try await Gateway(configuration: configuration, logger: logger, now: options.now)
        let gatewayPort = AsyncPort()
        let gatewayGroup = ServiceGroup(configuration: .init(
            services: [gateway.buildApplication { gatewayPort.set($0.localAddress?.port ?? -1) }], logger: logger))
        let gatewayTask = Task { try await gatewayGroup.run() }
        let port = try await gatewayPort.value()
        let gatewayURL = "http://127.0.0.1:\(port)"
        callbacks?.connect(gatewayURL: gatewayURL, publicURL: configuration.effectivePublicURL)
        let running = Task {
            try await gatewayTask.value
            try await simulatorTask.value
        }
        return SwitchboardSandbox(
            gateway: gateway, simulator: simulator, gatewayURL: gatewayURL, simulatorURL: "http://127.0.0.1:\(simPort)", accounts: accounts,
            sender: InboundWebhookSender(gatewayURL: gatewayURL, publicURL: configuration.effectivePublicURL, accounts: accounts, client: client),
            client: client, publicURL: configuration.effectivePublicURL, apiToken: options.apiToken,
            groups: [gatewayGroup, simulatorGroup], running: running, directory: directory)
    }

    /// Sends a correctly signed inbound webhook; throws unless the gateway acknowledged it.
    public func send(_ inbound: Inbound) async throws {
        let delivery: InboundWebhookSender.Delivery
        switch inbound {
        case .sms(let from, let text): delivery = try await sender.sendSMS(from: from, text: text)
        case .rcs(let from, let text, let payload): delivery = try await sender.sendRCS(phone: from, text: text, postbackData: payload)
        case .messenger(let psid, let text, let payload): delivery = try await sender.sendMessenger(psid: psid, text: text, quickReplyPayload: payload)
        }
        guard (200...299).contains(delivery.status) else {
            throw SandboxError(description: "the gateway answered \(delivery.status): \(delivery.body)")
        }
    }

    /// The next message a fake provider accepted for `address` (phone or PSID) that this method has
    /// not returned before, waiting up to `timeout` seconds.
    public func expectReply(to address: String, timeout: Double = 5) async throws -> RecordedRequest {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let accepted = await simulator.recorder.all().filter { request in
                request.method == "POST" && (200...299).contains(request.responseStatus)
                    && (request.formValue("To") == address || request.path.contains("/phones/\(address)/")
                        || (request.json ?? "").contains(#""id":"\#(address)""#))
            }
            let seen = consumed.withLock { $0[address, default: 0] }
            if accepted.count > seen {
                consumed.withLock { $0[address] = seen + 1 }
                return accepted[seen]
            }
            try await Task.sleep(nanoseconds: 20_000_000)
        }
        throw SandboxError(description: "no reply to \(address) within \(timeout) s")
    }

    /// Plays a scenario file (the format of `Config/scenarios`, docs/simulator.md) and returns its
    /// report; throws the report, with the diff, when a step fails.
    @discardableResult
    public func run(scenario path: String) async throws -> [String] {
        let scenario = try Scenario.load(path: path)
        let lines = Mutex<[String]>([])
        let runner = ScenarioRunner(
            gatewayURL: gatewayURL, publicURL: publicURL, simulatorURL: simulatorURL, accounts: accounts, client: client,
            output: { line in lines.withLock { $0.append(line) } })
        let outcome = try await runner.run(scenario)
        let report = lines.withLock { $0 }
        guard outcome.succeeded else { throw SandboxError(description: report.joined(separator: "\n")) }
        return report
    }

    /// What the gateway's API answered.
    public struct APIAnswer: Sendable {
        public var status: Int
        public var body: String
    }

    /// A message the business starts (`POST /api/v1/messages`, docs/api.md "Proactive sends"): to
    /// `address` on `channel`, with an optional `Idempotency-Key`.
    public func sendProactive(
        channel: String, to address: String, text: String, idempotencyKey: String? = nil
    ) async throws -> APIAnswer {
        let body = try JSONSerialization.data(withJSONObject: [
            "to": ["channel": channel, "address": address], "content": ["text": text], "author": ["kind": "system"],
        ], options: [.sortedKeys])
        var headers = [(name: "Authorization", value: "Bearer \(apiToken)"), (name: "Content-Type", value: "application/json")]
        if let idempotencyKey { headers.append((name: "Idempotency-Key", value: idempotencyKey)) }
        let response = try await client.execute(HTTPClientRequest(
            method: "POST", url: gatewayURL + "/api/v1/messages", headers: headers, body: Array(body)))
        return APIAnswer(status: response.status, body: String(decoding: response.body, as: UTF8.self))
    }

    /// Stops both servers gracefully and removes the database.
    public func stop() async {
        for group in groups { await group.triggerGracefulShutdown() }
        _ = try? await running.value
        client.shutdown()
        try? FileManager.default.removeItem(at: directory)
    }
}

public struct SandboxError: Error, CustomStringConvertible {
    public var description: String
}

/// A port announced once by `onServerRunning`.
final class AsyncPort: Sendable {
    private let port = Mutex<Int?>(nil)

    func set(_ value: Int) { port.withLock { $0 = value } }

    func value() async throws -> Int {
        for _ in 0..<1000 {
            if let value = port.withLock({ $0 }) {
                guard value > 0 else { break }
                return value
            }
            try await Task.sleep(nanoseconds: 5_000_000)
        }
        throw SandboxError(description: "a server did not start")
    }
}
