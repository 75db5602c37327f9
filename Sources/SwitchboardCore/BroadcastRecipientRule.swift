import Foundation

/// Why a broadcast's recipient got no message.
public enum BroadcastSkipReason: String, Sendable, Codable, CaseIterable, Hashable {
    /// The contact opted out of the channel (STOP, the panel, a provider's report).
    case unsubscribed
    /// Messenger: the contact's 24-hour window is closed (or it never wrote).
    case outsideMessagingWindow = "outside_messaging_window"
    /// No address on the broadcast's channel (or on any channel), the channel is not configured,
    /// or the contact no longer exists.
    case noChannel = "no_channel"
}

/// What a broadcast knows of one recipient when its turn comes.
public struct BroadcastCandidate: Sendable, Equatable {
    public struct Address: Sendable, Equatable {
        public var channel: Channel
        public var address: String
        /// Messenger: when the 24-hour window closes.
        public var windowOpenUntil: Date?

        public init(channel: Channel, address: String, windowOpenUntil: Date? = nil) {
            self.channel = channel
            self.address = address
            self.windowOpenUntil = windowOpenUntil
        }
    }

    public var contactId: String
    public var phone: String?
    public var lastChannel: Channel?
    public var addresses: [Address]
    /// Channels the contact opted out of.
    public var unsubscribed: Set<Channel>

    public init(contactId: String, phone: String?, lastChannel: Channel?, addresses: [Address], unsubscribed: Set<Channel>) {
        self.contactId = contactId
        self.phone = phone
        self.lastChannel = lastChannel
        self.addresses = addresses
        self.unsubscribed = unsubscribed
    }
}

/// One recipient's fate.
public enum BroadcastDecision: Sendable, Equatable {
    case send(channel: Channel, address: String)
    case skip(BroadcastSkipReason)
}

/// Who of a broadcast's recipients gets a message, and on which channel: the broadcast's channel,
/// or else the contact's last used one; the same rules as an agent reply (docs/outbound.md), so a
/// recipient the API would refuse is skipped with the reason instead.
public struct BroadcastRecipientRule: Sendable {
    public var channel: Channel?
    public var enabledChannels: Set<Channel>

    public init(channel: Channel?, enabledChannels: Set<Channel>) {
        self.channel = channel
        self.enabledChannels = enabledChannels
    }

    public func decide(_ candidate: BroadcastCandidate?, now: Date) -> BroadcastDecision {
        guard let candidate else { return .skip(.noChannel) }
        guard let channel = channel ?? candidate.lastChannel ?? candidate.addresses.first?.channel, enabledChannels.contains(channel) else {
            return .skip(.noChannel)
        }
        let entry = candidate.addresses.first { $0.channel == channel }
        // RCS goes to the phone, as agent replies do.
        guard let address = entry?.address ?? (channel == .rcs ? candidate.phone : nil) else { return .skip(.noChannel) }
        if candidate.unsubscribed.contains(channel) { return .skip(.unsubscribed) }
        if channel == .messenger,
           OutboundPolicy.messengerWindow(now: now, windowOpenUntil: entry?.windowOpenUntil, author: .system, allowHumanAgentTag: false)
            == .refused {
            return .skip(.outsideMessagingWindow)
        }
        return .send(channel: channel, address: address)
    }
}
