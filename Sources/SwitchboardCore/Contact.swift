import Foundation

/// A person the business talks to, across every channel the gateway can tie to them.
public struct Contact: Codable, Sendable, Equatable {
    public var id: String
    public var name: String?
    public var photoUrl: String?
    public var phone: String?
    public var botEnabled: Bool
    public var lastMessageAt: Date?
    public var lastChannel: Channel?
    public var channels: [ChannelAddress]
    public var subscriptions: [String: Bool]
    public var rcs: RCSInfo?
    public var facebook: FacebookInfo?
    public var attributes: [String: String]
    public var tags: [String]

    public init(
        id: String, name: String? = nil, photoUrl: String? = nil, phone: String? = nil,
        botEnabled: Bool = true, lastMessageAt: Date? = nil, lastChannel: Channel? = nil,
        channels: [ChannelAddress] = [], subscriptions: [String: Bool] = [:], rcs: RCSInfo? = nil,
        facebook: FacebookInfo? = nil, attributes: [String: String] = [:], tags: [String] = []
    ) {
        self.id = id
        self.name = name
        self.photoUrl = photoUrl
        self.phone = phone
        self.botEnabled = botEnabled
        self.lastMessageAt = lastMessageAt
        self.lastChannel = lastChannel
        self.channels = channels
        self.subscriptions = subscriptions
        self.rcs = rcs
        self.facebook = facebook
        self.attributes = attributes
        self.tags = tags
    }

    enum CodingKeys: String, CodingKey {
        case id, name, photoUrl, phone, botEnabled, lastMessageAt, lastChannel, channels
        case subscriptions, rcs, facebook, attributes, tags
    }

    /// `name`, `photoUrl` and `phone` are always present (null when unknown), as the contract shows.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(name, forKey: .name)
        try c.encode(photoUrl, forKey: .photoUrl)
        try c.encode(phone, forKey: .phone)
        try c.encode(botEnabled, forKey: .botEnabled)
        try c.encode(lastMessageAt, forKey: .lastMessageAt)
        try c.encode(lastChannel, forKey: .lastChannel)
        try c.encode(channels, forKey: .channels)
        try c.encode(subscriptions, forKey: .subscriptions)
        try c.encodeIfPresent(rcs, forKey: .rcs)
        try c.encodeIfPresent(facebook, forKey: .facebook)
        try c.encode(attributes, forKey: .attributes)
        try c.encode(tags, forKey: .tags)
    }

    /// One address the contact communicates from, per channel.
    public struct ChannelAddress: Codable, Sendable, Equatable {
        public var channel: Channel
        public var address: String
        public var lastUsedAt: Date?

        public init(channel: Channel, address: String, lastUsedAt: Date? = nil) {
            self.channel = channel
            self.address = address
            self.lastUsedAt = lastUsedAt
        }
    }

    public struct RCSInfo: Codable, Sendable, Equatable {
        public var capable: Bool
        public var features: [String]
        public var checkedAt: Date?

        public init(capable: Bool, features: [String], checkedAt: Date?) {
            self.capable = capable
            self.features = features
            self.checkedAt = checkedAt
        }
    }

    public struct FacebookInfo: Codable, Sendable, Equatable {
        public var psid: String
        public var pageId: String?
        public var windowOpenUntil: Date?

        public init(psid: String, pageId: String?, windowOpenUntil: Date?) {
            self.psid = psid
            self.pageId = pageId
            self.windowOpenUntil = windowOpenUntil
        }
    }
}
