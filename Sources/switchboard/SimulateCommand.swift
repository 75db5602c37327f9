import ArgumentParser
import CurlHTTPClient
import Foundation
import Hummingbird
import Logging
import SwitchboardServer
import SwitchboardSimulator

struct SimulateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "The provider simulator: fake provider APIs on loopback, and signed inbound webhooks.",
        subcommands: [SimulateServeCommand.self, SimulateSendCommand.self],
        defaultSubcommand: SimulateServeCommand.self)
}

struct SimulateServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve", abstract: "Serve the fake provider APIs (the default).")

    @OptionGroup var options: ConfigurationOptions

    @Option(help: "Listen address (default: the configuration's simulator.host).")
    var host: String?

    @Option(help: "Listen port (default: the configuration's simulator.port).")
    var port: Int?

    func run() async throws {
        LogSetup.bootstrap()
        let configuration = try loadConfiguration(options)
        guard let sid = configuration.twilio?.accountSid, let token = configuration.twilio?.authToken else {
            throw ValidationError("the simulator needs twilio.accountSid and twilio.authToken in the configuration")
        }
        let settings = SimulatorSettings(
            host: host ?? configuration.simulator.host, port: port ?? configuration.simulator.port,
            twilioAccountSid: sid, twilioAuthToken: token)
        let simulator = Simulator(settings: settings)
        let app = simulator.buildApplication { channel in
            let port = channel.localAddress?.port ?? settings.port
            Console.print("Provider simulator listening on http://\(settings.host):\(port) (inspect: /_simulator/requests)")
        }
        try await app.runService()
    }
}

struct SimulateSendCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "send", abstract: "Send a correctly signed inbound webhook to a running gateway.")

    @OptionGroup var options: ConfigurationOptions

    @Option(help: "The channel: sms.")
    var channel: String = "sms"

    @Option(help: "The sender (an E.164 phone number for sms).")
    var from: String

    @Option(help: "The message text.")
    var text: String

    @Option(help: "The provider message id (default: a new one); repeat one to test de-duplication.")
    var messageId: String?

    @Option(help: "The gateway's address (default: http://HOST:PORT from the configuration).")
    var gateway: String?

    @Option(help: "The gateway's public URL, which signatures cover (default: its configured public URL).")
    var publicURL: String?

    func run() async throws {
        let configuration = try loadConfiguration(options)
        guard channel == "sms" else {
            throw ValidationError("channel '\(channel)' is not simulated yet; available: sms")
        }
        guard let sid = configuration.twilio?.accountSid, let token = configuration.twilio?.authToken else {
            throw ValidationError("signing Twilio webhooks needs twilio.accountSid and twilio.authToken in the configuration")
        }
        let client = CurlHTTPClient()
        defer { client.shutdown() }
        let gatewayURL = gateway ?? "http://\(configuration.host):\(configuration.port)"
        let sender = InboundWebhookSender(
            gatewayURL: gatewayURL, publicURL: publicURL ?? configuration.publicURL ?? gatewayURL,
            twilioAccountSid: sid, twilioAuthToken: token, twilioNumber: configuration.twilio?.from ?? "+15550001111",
            client: client)
        let delivery: InboundWebhookSender.Delivery
        do {
            delivery = try await sender.sendSMS(from: from, text: text, messageSid: messageId)
        } catch let error as HTTPClientError {
            throw ValidationError("the gateway at \(gatewayURL) did not answer: \(error)")
        }
        print("POST \(gatewayURL)/webhooks/twilio/sms MessageSid=\(delivery.providerMessageId) -> \(delivery.status)")
        if !delivery.body.isEmpty { print(delivery.body) }
        if !(200...299).contains(delivery.status) { throw ExitCode(1) }
    }
}

func loadConfiguration(_ options: ConfigurationOptions) throws -> GatewayConfiguration {
    do {
        return try GatewayConfiguration.load(path: options.config, environment: ProcessInfo.processInfo.environment)
    } catch let error as ConfigurationError {
        throw ValidationError(error.description)
    }
}
