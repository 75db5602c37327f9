import ArgumentParser
import CurlHTTPClient
import Foundation
import Hummingbird
import Logging
import MessengerAdapter
import RBMAdapter
import SwitchboardCore
import SwitchboardServer
import SwitchboardSimulator
import TwilioSMSAdapter

struct SimulateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "The provider simulator: fake provider APIs on loopback, and signed inbound webhooks.",
        subcommands: [SimulateServeCommand.self, SimulateSendCommand.self, SimulateRunCommand.self],
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

    @Option(help: "The gateway that status callbacks go to (default: http://HOST:PORT from the configuration).")
    var gateway: String?

    @Flag(inversion: .prefixedNo, help: "Follow accepted messages with the provider's status callbacks (sent, delivered, read).")
    var callbacks = true

    @Option(help: "Milliseconds before each status callback.")
    var callbackDelay: Int = 200

    @Flag(help: "Deliver every status callback twice (as providers that retry do).")
    var duplicateCallbacks = false

    @Flag(help: "Deliver status callbacks in reverse order (delivered before sent, read before delivered).")
    var outOfOrderCallbacks = false

    @Option(help: ArgumentHelp(
        "A fault for this run, as the JSON of POST /_simulator/faults (repeatable), e.g. '{\"provider\":\"twilio\",\"status\":503,\"count\":3}'.",
        valueName: "json"))
    var fault: [String] = []

    @Option(help: "Seconds the access tokens of the RBM service account's token endpoint live (with RBM_SERVICE_ACCOUNT_FILE).")
    var rbmTokenLifetime: Double = 3600

    func run() async throws {
        LogSetup.bootstrap()
        let configuration = try loadSimulatorConfiguration(options)
        var simulatorSettings = SimulatorSettings(
            host: host ?? configuration.simulator.host, port: port ?? configuration.simulator.port,
            accounts: configuration.providerAccounts)
        guard rbmTokenLifetime.isFinite, rbmTokenLifetime >= 1 else { throw ValidationError("--rbm-token-lifetime must be at least 1 second") }
        simulatorSettings.rbmTokenLifetimeSeconds = rbmTokenLifetime
        let settings = simulatorSettings
        let client = CurlHTTPClient()
        defer { client.shutdown() }
        var statusCallbacks: StatusCallbacks?
        if callbacks {
            let emitter = StatusCallbacks(
                accounts: configuration.providerAccounts, delayMilliseconds: callbackDelay,
                faults: CallbackFaults(duplicate: duplicateCallbacks, outOfOrder: outOfOrderCallbacks),
                client: client, logger: Logger(label: "switchboard.simulator"))
            let gatewayURL = gateway ?? "http://\(configuration.host):\(configuration.port)"
            emitter.connect(gatewayURL: gatewayURL, publicURL: configuration.publicURL ?? gatewayURL)
            statusCallbacks = emitter
        }
        let simulator = Simulator(settings: settings, callbacks: statusCallbacks)
        for json in fault {
            guard let parsed = try? JSONDecoder().decode(SimulatedFault.self, from: Data(json.utf8)) else {
                throw ValidationError("--fault '\(json)' is not a fault: {provider, status?, retryAfter?, delayMilliseconds?, errorCode?, reset?, callbacks?, count?}")
            }
            await simulator.scenario.add(parsed)
        }
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

    @Option(help: "The channel: sms, rcs, messenger or webchat.")
    var channel: String = "sms"

    @Option(help: "The sender: an E.164 phone number for sms and rcs, a PSID for messenger, a visitor token for webchat (default: a new visitor).")
    var from: String = ""

    @Option(help: "The message text (required unless --react-to).")
    var text: String?

    @Option(help: "A quick-reply or suggestion payload, as if the contact tapped a button (rcs, messenger).")
    var payload: String?

    @Option(help: "An MMS media URL (sms only; repeat for several). Its type is guessed from the extension unless given as TYPE=URL.")
    var media: [String] = []

    @Option(help: "The provider message id (default: a new one); repeat one to test de-duplication.")
    var messageId: String?

    @Option(help: "The gateway's address (default: http://HOST:PORT from the configuration).")
    var gateway: String?

    @Option(help: "The gateway's public URL, which Twilio signatures cover (default: its configured public URL).")
    var publicURL: String?

    @Flag(help: "Deliver the webhook twice with the same provider message id, as a provider retrying would (sms, rcs, messenger).")
    var duplicate = false

    @Option(help: "Messenger: date the message this many seconds in the past (more than 86400: the 24-hour window has closed).")
    var secondsAgo: Int?

    @Option(help: "Messenger: react to the page's message with this provider message id instead of sending a message.")
    var reactTo: String?

    @Option(help: "The emoji of --react-to; 'none' takes the reaction back.")
    var reaction: String = "❤️"

    func run() async throws {
        if text == nil, reactTo == nil { throw ValidationError("--text is required (unless --react-to)") }
        if reactTo != nil, text != nil || payload != nil || !media.isEmpty {
            throw ValidationError("--react-to sends a reaction only: no --text, --payload or --media")
        }
        if let secondsAgo, !(0...(365 * 86_400)).contains(secondsAgo) {
            throw ValidationError("--seconds-ago must be from 0 to 31536000")
        }
        if channel == "webchat" {
            if duplicate {
                throw ValidationError("--duplicate is for provider webhooks; web-chat frames are de-duplicated by their id")
            }
            try await send(messageId: messageId)
            return
        }
        guard let simulated = SwitchboardCore.Channel(rawValue: channel), InboundWebhookSender.simulatedChannels.contains(simulated) else {
            let names = InboundWebhookSender.simulatedChannels.map(\.rawValue) + ["webchat"]
            throw ValidationError("channel '\(channel)' cannot be simulated; use \(names.joined(separator: ", "))")
        }
        var messageId = self.messageId
        if duplicate, messageId == nil {
            messageId = try InboundWebhookSender.newMessageId(for: simulated)
        }
        for delivery in 1...(duplicate ? 2 : 1) {
            if duplicate { Console.print("delivery \(delivery) of 2:") }
            try await send(messageId: messageId)
        }
    }

    func send(messageId: String?) async throws {
        let configuration = try loadSimulatorConfiguration(options)
        let client = CurlHTTPClient()
        defer { client.shutdown() }
        let gatewayURL = gateway ?? "http://\(configuration.host):\(configuration.port)"
        if channel == "webchat" {
            if secondsAgo != nil || !media.isEmpty || reactTo != nil {
                throw ValidationError("a web-chat message carries text and a payload only")
            }
            try await sendWebChat(gatewayURL: gatewayURL, client: client)
            return
        }
        let sender = InboundWebhookSender(
            gatewayURL: gatewayURL, publicURL: publicURL ?? configuration.publicURL ?? gatewayURL,
            accounts: configuration.providerAccounts, client: client)
        if from.isEmpty { throw ValidationError("--from is required for \(channel)") }
        let message = SimulatedInbound(
            from: from, text: text ?? "", payload: payload, media: media.map(Self.mediaItem), messageId: messageId,
            sentAt: secondsAgo.map { Date().addingTimeInterval(-Double($0)) },
            reaction: reactTo.map { SimulatedInbound.Reaction(to: $0, emoji: reaction == "none" ? nil : reaction) })
        let delivery: InboundWebhookSender.Delivery
        do {
            let webhook = try sender.webhook(for: message, on: SwitchboardCore.Channel(rawValue: channel) ?? .sms)
            delivery = try await sender.send(webhook)
        } catch let error as InboundWebhookSender.Unsupported {
            throw ValidationError(error.description)
        } catch let error as InboundWebhookSender.MissingAccount {
            throw ValidationError(error.description)
        } catch let error as HTTPClientError {
            throw ValidationError("the gateway at \(gatewayURL) did not answer: \(error)")
        }
        Console.print("\(channel) webhook to \(gatewayURL) (message id \(delivery.providerMessageId)) -> \(delivery.status)")
        if !delivery.body.isEmpty { Console.print(delivery.body) }
        if !(200...299).contains(delivery.status) { throw ExitCode(1) }
    }
}

extension SimulateSendCommand {
    /// `image/png=https://…` or a bare URL whose extension names the type.
    static func mediaItem(_ argument: String) -> (url: String, mimeType: String) {
        if let equals = argument.firstIndex(of: "="), argument[..<equals].contains("/"), !argument[..<equals].contains(":") {
            return (String(argument[argument.index(after: equals)...]), String(argument[..<equals]))
        }
        let ext = argument.split(separator: "?").first?.split(separator: ".").last.map { $0.lowercased() } ?? ""
        let types = ["png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "gif": "image/gif", "svg": "image/svg+xml",
                     "pdf": "application/pdf", "mp4": "video/mp4", "mp3": "audio/mpeg", "vcf": "text/vcard"]
        return (argument, types[ext] ?? "application/octet-stream")
    }

    /// Opens a visitor session (or reuses `--from` as a token), sends the message over the
    /// WebSocket, and prints the frames received until the first reply.
    func sendWebChat(gatewayURL: String, client: CurlHTTPClient) async throws {
        let visitor = SimulatedVisitor(gatewayURL: gatewayURL, client: client)
        let session = try await visitor.session(renewing: from.isEmpty ? nil : from)
        var frame: [String: String] = ["type": "message", "text": text ?? "", "id": messageId ?? UUID().uuidString]
        if let payload { frame["payload"] = payload }
        let json = String(decoding: try JSONSerialization.data(withJSONObject: frame, options: [.sortedKeys]), as: UTF8.self)
        let frames = try await visitor.exchange(token: session.token, frames: [json], timeout: 5) { frames in
            frames.contains { $0.contains(#""direction":"outbound""#) }
        }
        Console.print("webchat visitor \(session.visitorId) (token \(session.token))")
        for received in frames { Console.print(received) }
    }
}

func loadConfiguration(_ options: ConfigurationOptions) throws -> GatewayConfiguration {
    do {
        return try GatewayConfiguration.load(path: options.config, environment: ProcessInfo.processInfo.environment)
    } catch let error as ConfigurationError {
        throw ValidationError(error.description)
    }
}

/// The configuration as the simulator plays it: a channel without configured credentials uses the
/// simulator's published ones, as `serve --dev` does, so the two agree on every signature.
func loadSimulatorConfiguration(_ options: ConfigurationOptions) throws -> GatewayConfiguration {
    var configuration = try loadConfiguration(options)
    configuration.fillWithSimulatorCredentials()
    return configuration
}
