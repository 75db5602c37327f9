import ArgumentParser
import CurlHTTPClient
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import SwitchboardServer
import SwitchboardCore
import SwitchboardSimulator
import UnixSignals

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve", abstract: "Run the gateway (migrating the database first).")

    @OptionGroup var options: ConfigurationOptions

    @Flag(help: "Development mode: channels without credentials play against the provider simulator (run in process, with its published credentials), and an API token is generated and printed when none is set. Never for a gateway that real providers or people reach.")
    var dev = false

    @Option(help: "Listen address (overrides SWITCHBOARD_HOST).")
    var host: String?

    @Option(help: "Listen port (overrides SWITCHBOARD_PORT).")
    var port: Int?

    func run() async throws {
        LogSetup.bootstrap()
        let logger = Logger(label: "switchboard")
        var configuration = try loadConfiguration(options)
        if let host { configuration.host = host }
        if let port { configuration.port = port }
        do {
            try configuration.validate()
        } catch let error as ConfigurationError {
            throw ValidationError(error.description)
        }
        var generatedToken: String?
        var simulated: [SwitchboardCore.Channel] = []
        if dev {
            // The simulator's credentials are published: only a development gateway takes them.
            simulated = configuration.fillWithSimulatorCredentials()
            if configuration.apiToken?.isEmpty ?? true {
                let token = (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
                configuration.apiToken = token
                generatedToken = token
            }
            if !Self.isLoopback(configuration.host) {
                let warning = "WARNING: --dev on \(configuration.host), beyond loopback: anyone who reaches this port can sign webhooks with the simulator's published credentials"
                logger.warning("development mode beyond loopback", metadata: ["host": "\(configuration.host)"])
                Console.print(warning)
            }
        } else {
            let problems = configuration.publishedSecretProblems
            if !problems.isEmpty {
                throw ValidationError(ConfigurationError(problems: problems).description)
            }
        }
        let gateway = try await Gateway(configuration: configuration, logger: logger)
        for (channel, reason) in configuration.channelStates {
            if let reason {
                logger.notice("channel disabled", metadata: ["channel": "\(channel.rawValue)", "why": "\(reason)"])
                Console.print("  \(channel.rawValue): disabled (\(reason))")
            } else {
                let origin = channel == .webchat ? "built in" : simulated.contains(channel) ? "the provider simulator's credentials (--dev)" : "configured credentials"
                logger.notice("channel enabled", metadata: ["channel": "\(channel.rawValue)", "with": "\(origin)"])
                Console.print("  \(channel.rawValue): enabled (\(origin))")
            }
        }
        let publicURL = configuration.effectivePublicURL
        let listening = configuration
        let token = generatedToken
        let app = gateway.buildApplication { channel in
            let address = channel.localAddress.map { "\($0.ipAddress ?? listening.host):\($0.port ?? listening.port)" }
                ?? "\(listening.host):\(listening.port)"
            var lines = ["Switchboard listening on http://\(address) (providers call \(publicURL))"]
            lines.append("  Console: http://\(address)/  (sign in with the API token)")
            lines.append("  API:     http://\(address)/api/v1/contacts  (Authorization: Bearer <token>)")
            lines.append("  Widget:  http://\(address)/webchat/demo")
            if let token { lines.append("  API token (generated for --dev): \(token)") }
            lines.append("  Health:  http://\(address)/healthz")
            Console.print(lines.joined(separator: "\n"))
        }
        var services: [any Service] = [app]
        if dev, let simulator = Self.inProcessSimulator(configuration, client: gateway.client, logger: logger) {
            simulator.callbacks?.connect(gatewayURL: "http://\(configuration.host):\(configuration.port)", publicURL: publicURL)
            services.insert(simulator.buildApplication { _ in
                Console.print("Provider simulator listening on http://\(simulator.settings.host):\(simulator.settings.port) (inspect: /_simulator/requests)")
            }, at: 0)
        }
        var groupConfiguration = ServiceGroupConfiguration(
            services: services.map { .init(service: $0) }, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        // After the deadline, what still runs (a hung provider call, a slow client) is cancelled,
        // and after one more second the process ends regardless: what was acknowledged is already
        // durable, and the outbox's leases hand unfinished sends to the next start.
        groupConfiguration.maximumGracefulShutdownDuration = .milliseconds(Int64(configuration.shutdownTimeoutSeconds * 1000))
        groupConfiguration.maximumCancellationDuration = .seconds(1)
        let group = ServiceGroup(configuration: groupConfiguration)
        try await group.run()
    }

    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }

    /// The simulator, when a provider's API base URL points at the configured simulator address.
    static func inProcessSimulator(_ configuration: GatewayConfiguration, client: CurlHTTPClient, logger: Logger) -> Simulator? {
        let simulatorBase = "http://\(configuration.simulator.host):\(configuration.simulator.port)"
        guard configuration.providerAPIBaseURLs.contains(where: { $0.hasPrefix(simulatorBase) }) else { return nil }
        return Simulator(
            settings: SimulatorSettings(
                host: configuration.simulator.host, port: configuration.simulator.port, accounts: configuration.providerAccounts),
            callbacks: StatusCallbacks(accounts: configuration.providerAccounts, client: client, logger: logger),
            logger: logger)
    }
}
