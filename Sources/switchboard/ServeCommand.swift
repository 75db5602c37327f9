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

    @Flag(help: "Development mode: generate and print an API token when none is set, and run the provider simulator in process when the configuration points a provider at it.")
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
        if dev, configuration.apiToken?.isEmpty ?? true {
            let token = (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
            configuration.apiToken = token
            generatedToken = token
        }
        let gateway = try Gateway(configuration: configuration, logger: logger)
        logger.info("channels", metadata: [
            "enabled": "\(gateway.enabledChannels.map(\.rawValue))",
            "disabled": "\(["sms", "rcs", "messenger", "webchat"].filter { name in !gateway.enabledChannels.contains { $0.rawValue == name } })",
        ])
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
        let group = ServiceGroup(configuration: .init(
            services: services.map { .init(service: $0) }, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }

    /// The simulator, when a provider's API base URL points at the configured simulator address.
    static func inProcessSimulator(_ configuration: GatewayConfiguration, client: CurlHTTPClient, logger: Logger) -> Simulator? {
        let simulatorBase = "http://\(configuration.simulator.host):\(configuration.simulator.port)"
        let bases = [configuration.twilio?.apiBaseURL, configuration.messenger?.apiBaseURL, configuration.rbm?.apiBaseURL]
        guard bases.contains(where: { $0?.hasPrefix(simulatorBase) == true }) else { return nil }
        return Simulator(
            settings: SimulatorSettings(
                host: configuration.simulator.host, port: configuration.simulator.port, accounts: configuration.providerAccounts),
            callbacks: StatusCallbacks(accounts: configuration.providerAccounts, client: client, logger: logger),
            logger: logger)
    }
}
