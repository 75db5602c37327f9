/// What a message carries. Every field is optional; empty lists are left out of the JSON.
public struct Content: Codable, Sendable, Equatable {
    public var text: String?
    public var attachments: [Attachment]
    public var quickReplies: [QuickReply]
    public var location: Location?
    public var postback: Postback?
    /// Rich cards: one is a standalone card, 2 to 10 a carousel (RichContent.swift).
    public var cards: [Card]
    /// Buttons on the message itself.
    public var actions: [Action]

    public init(
        text: String? = nil, attachments: [Attachment] = [], quickReplies: [QuickReply] = [],
        location: Location? = nil, postback: Postback? = nil, cards: [Card] = [], actions: [Action] = []
    ) {
        self.text = text
        self.attachments = attachments
        self.quickReplies = quickReplies
        self.location = location
        self.postback = postback
        self.cards = cards
        self.actions = actions
    }

    /// True when nothing at all is carried.
    public var isEmpty: Bool {
        (text ?? "").isEmpty && attachments.isEmpty && quickReplies.isEmpty && location == nil && postback == nil
            && cards.isEmpty && actions.isEmpty
    }

    /// True when it carries cards or actions (the text-only fast paths do not apply).
    public var isRich: Bool { !cards.isEmpty || !actions.isEmpty }

    enum CodingKeys: String, CodingKey {
        case text, attachments, quickReplies, location, postback, cards, actions
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        text = try c.decodeIfPresent(String.self, forKey: .text)
        attachments = try c.decodeIfPresent([Attachment].self, forKey: .attachments) ?? []
        quickReplies = try c.decodeIfPresent([QuickReply].self, forKey: .quickReplies) ?? []
        location = try c.decodeIfPresent(Location.self, forKey: .location)
        postback = try c.decodeIfPresent(Postback.self, forKey: .postback)
        cards = try c.decodeIfPresent([Card].self, forKey: .cards) ?? []
        actions = try c.decodeIfPresent([Action].self, forKey: .actions) ?? []
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeIfPresent(text, forKey: .text)
        if !attachments.isEmpty { try c.encode(attachments, forKey: .attachments) }
        if !quickReplies.isEmpty { try c.encode(quickReplies, forKey: .quickReplies) }
        try c.encodeIfPresent(location, forKey: .location)
        try c.encodeIfPresent(postback, forKey: .postback)
        if !cards.isEmpty { try c.encode(cards, forKey: .cards) }
        if !actions.isEmpty { try c.encode(actions, forKey: .actions) }
    }

    public struct Attachment: Codable, Sendable, Equatable {
        public enum Kind: String, Codable, Sendable {
            case image, video, audio, file
        }
        public var kind: Kind
        /// Where the file is: the gateway's own copy once it has one (inbound media it fetched,
        /// files uploaded to `POST /api/v1/media`), else the provider's URL.
        public var url: String
        public var mimeType: String?
        public var name: String?
        /// Inbound media: the provider's URL, kept once `url` is the gateway's copy.
        public var providerUrl: String?
        /// The gateway's copy (`GET /api/v1/media/{mediaId}`), once it has one.
        public var mediaId: String?
        /// Inbound media: `pending` until the gateway has its copy, then `stored`, or `failed`
        /// (`url` stays the provider's and `fetchError` says why).
        public var fetch: FetchState?
        public var fetchError: String?

        public enum FetchState: String, Codable, Sendable {
            case pending, stored, failed
        }

        public init(kind: Kind, url: String, mimeType: String? = nil, name: String? = nil) {
            self.kind = kind
            self.url = url
            self.mimeType = mimeType
            self.name = name
        }

        /// The attachment kind a MIME type falls under (`image/png` → image, else file).
        public static func kind(forMimeType mimeType: String?) -> Kind {
            let major = mimeType?.split(separator: "/").first.map { $0.lowercased() } ?? ""
            switch major {
            case "image": return .image
            case "video": return .video
            case "audio": return .audio
            default: return .file
            }
        }
    }

    public struct QuickReply: Codable, Sendable, Equatable {
        public var title: String
        public var payload: String

        public init(title: String, payload: String) {
            self.title = title
            self.payload = payload
        }
    }

    public struct Location: Codable, Sendable, Equatable {
        public var latitude: Double
        public var longitude: Double
        public var label: String?

        public init(latitude: Double, longitude: Double, label: String? = nil) {
            self.latitude = latitude
            self.longitude = longitude
            self.label = label
        }
    }

    public struct Postback: Codable, Sendable, Equatable {
        public var title: String?
        public var payload: String

        public init(title: String? = nil, payload: String) {
            self.title = title
            self.payload = payload
        }
    }
}
