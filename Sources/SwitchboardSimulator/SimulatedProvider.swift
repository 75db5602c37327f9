import Foundation
import Hummingbird
import Logging
import SwitchboardCore

/// A provider the simulator plays: its fake API's routes, and the signed webhooks of a contact
/// writing in. The simulator's router and `switchboard simulate send` iterate over
/// `SimulatedProviders.all` instead of naming providers.
protocol SimulatedProvider: Sendable {
    /// The name faults and recorded requests use (`twilio`, `messenger`, `rbm`).
    var name: String { get }
    var channel: Channel { get }
    /// What a simulated inbound message may carry on this channel besides text.
    var inboundOptions: Set<SimulatedInbound.Option> { get }
    /// Adds the fake API's routes, recording into and faulting through `simulator`.
    func addRoutes(to router: Router<SimulatorRequestContext>, simulator: Simulator)
    /// The signed webhook of `message`, as the provider would post it to the gateway.
    func webhook(for message: SimulatedInbound, sender: InboundWebhookSender) throws -> InboundWebhookSender.SignedWebhook
    /// A new provider message id in the provider's format.
    func newMessageId() -> String
}

/// Every provider the simulator plays.
enum SimulatedProviders {
    static func all(settings: SimulatorSettings, logger: Logger) -> [any SimulatedProvider] {
        [SimulatedTwilio(settings: settings), SimulatedRBM(settings: settings, logger: logger), SimulatedMessenger(settings: settings)]
    }
}

/// A message a simulated contact writes to the business (`switchboard simulate send`).
public struct SimulatedInbound: Sendable {
    /// What a channel's inbound message can carry besides text.
    public enum Option: String, Sendable, CaseIterable {
        // Raw values name the option in refusals.
        /// A quick-reply or suggestion payload: the contact tapped a button.
        case payload = "a payload"
        /// Media URLs with their types (MMS).
        case media = "media"
        /// A send time in the past.
        case sentAt = "a send time in the past"
        /// A reaction to one of the business's messages instead of a message.
        case reaction = "a reaction"
    }

    /// A contact reacting to one of the business's messages.
    public struct Reaction: Sendable {
        /// The provider's id of the message reacted to.
        public var messageId: String
        /// The emoji; nil takes the reaction back.
        public var emoji: String?

        public init(to messageId: String, emoji: String?) {
            self.messageId = messageId
            self.emoji = emoji
        }
    }

    /// The sender's address on the channel (an E.164 number, a PSID).
    public var from: String
    public var text: String
    public var payload: String?
    public var media: [(url: String, mimeType: String)]
    /// The provider message id; a new one when nil.
    public var messageId: String?
    /// When the contact sent it; now when nil.
    public var sentAt: Date?
    /// Set: the contact reacts (and `text` is not sent).
    public var reaction: Reaction?

    public init(
        from: String, text: String, payload: String? = nil, media: [(url: String, mimeType: String)] = [], messageId: String? = nil,
        sentAt: Date? = nil, reaction: Reaction? = nil
    ) {
        self.from = from
        self.text = text
        self.payload = payload
        self.media = media
        self.messageId = messageId
        self.sentAt = sentAt
        self.reaction = reaction
    }

    /// The options this message uses.
    var options: Set<Option> {
        var options: Set<Option> = []
        if payload != nil { options.insert(.payload) }
        if !media.isEmpty { options.insert(.media) }
        if sentAt != nil { options.insert(.sentAt) }
        if reaction != nil { options.insert(.reaction) }
        return options
    }
}

extension InboundWebhookSender {
    /// The provider channels whose contacts the simulator can play.
    public static var simulatedChannels: [Channel] {
        SimulatedProviders.all(settings: SimulatorSettings(accounts: ProviderAccounts()), logger: Logger(label: "unused")).map(\.channel)
    }

    /// Why a simulated message cannot be sent as asked.
    public struct Unsupported: Error, CustomStringConvertible {
        public var description: String
    }

    /// The signed webhook of `message` on `channel`; throws `Unsupported` for a channel the
    /// simulator does not play or an option the channel cannot carry, `MissingAccount` without
    /// the account's signing secret.
    public func webhook(for message: SimulatedInbound, on channel: Channel) throws -> SignedWebhook {
        let provider = try Self.provider(for: channel, accounts: accounts)
        let unsupported = message.options.subtracting(provider.inboundOptions)
        guard unsupported.isEmpty else {
            let names = unsupported.map(\.rawValue).sorted().joined(separator: ", ")
            throw Unsupported(description: "a simulated \(channel.rawValue) message cannot carry \(names)")
        }
        return try provider.webhook(for: message, sender: self)
    }

    /// A new provider message id in `channel`'s format (for a delivery sent twice).
    public static func newMessageId(for channel: Channel) throws -> String {
        try provider(for: channel, accounts: ProviderAccounts()).newMessageId()
    }

    static func provider(for channel: Channel, accounts: ProviderAccounts) throws -> any SimulatedProvider {
        let providers = SimulatedProviders.all(settings: SimulatorSettings(accounts: accounts), logger: Logger(label: "unused"))
        guard let provider = providers.first(where: { $0.channel == channel }) else {
            let names = providers.map(\.channel.rawValue).joined(separator: ", ")
            throw Unsupported(description: "the simulator plays no provider for \(channel.rawValue) (it plays \(names))")
        }
        return provider
    }
}
