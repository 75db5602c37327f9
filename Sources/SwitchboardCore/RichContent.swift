import Foundation

extension Content {
    /// A rich card: one in `cards` is a standalone card, 2 to 10 a carousel. It needs a title, a
    /// description or media; its actions are the card's buttons.
    public struct Card: Codable, Sendable, Equatable {
        public var title: String?
        public var description: String?
        public var media: CardMedia?
        public var actions: [Action]

        public init(title: String? = nil, description: String? = nil, media: CardMedia? = nil, actions: [Action] = []) {
            self.title = title
            self.description = description
            self.media = media
            self.actions = actions
        }

        enum CodingKeys: String, CodingKey { case title, description, media, actions }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            title = try c.decodeIfPresent(String.self, forKey: .title)
            description = try c.decodeIfPresent(String.self, forKey: .description)
            media = try c.decodeIfPresent(CardMedia.self, forKey: .media)
            actions = try c.decodeIfPresent([Action].self, forKey: .actions) ?? []
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encodeIfPresent(title, forKey: .title)
            try c.encodeIfPresent(description, forKey: .description)
            try c.encodeIfPresent(media, forKey: .media)
            if !actions.isEmpty { try c.encode(actions, forKey: .actions) }
        }
    }

    /// A card's picture or video, and how tall it is shown where the channel lets us choose (RBM).
    public struct CardMedia: Codable, Sendable, Equatable {
        public enum Height: String, Codable, Sendable, CaseIterable {
            case short, medium, tall
        }
        public var url: String
        public var mimeType: String?
        public var height: Height?

        public init(url: String, mimeType: String? = nil, height: Height? = nil) {
            self.url = url
            self.mimeType = mimeType
            self.height = height
        }
    }

    /// A button: on the message (`content.actions`) or on a card. `kind` names the shape.
    public enum Action: Codable, Sendable, Equatable {
        /// Sends `payload` back as a postback (a suggested reply).
        case reply(title: String, payload: String)
        /// Opens `url` (https).
        case openUrl(title: String, url: String)
        /// Calls `phone` (E.164).
        case dial(title: String, phone: String)
        /// Asks the contact to share their location.
        case shareLocation(title: String)
        /// Shows a place on a map.
        case viewLocation(title: String, latitude: Double, longitude: Double, label: String?)
        /// Offers a calendar event; times are ISO 8601.
        case calendar(title: String, startTime: String, endTime: String, eventTitle: String, description: String?)

        /// The `kind` values, in the JSON's spelling.
        public static let kinds = ["reply", "openUrl", "dial", "shareLocation", "viewLocation", "calendar"]

        public var kind: String {
            switch self {
            case .reply: "reply"
            case .openUrl: "openUrl"
            case .dial: "dial"
            case .shareLocation: "shareLocation"
            case .viewLocation: "viewLocation"
            case .calendar: "calendar"
            }
        }

        /// The button's label.
        public var title: String {
            switch self {
            case .reply(let title, _), .openUrl(let title, _), .dial(let title, _), .shareLocation(let title),
                 .viewLocation(let title, _, _, _), .calendar(let title, _, _, _, _):
                title
            }
        }

        enum CodingKeys: String, CodingKey {
            case kind, title, payload, url, phone, latitude, longitude, label, startTime, endTime, eventTitle, description
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            let kind = try c.decode(String.self, forKey: .kind)
            let title = try c.decode(String.self, forKey: .title)
            switch kind {
            case "reply": self = .reply(title: title, payload: try c.decode(String.self, forKey: .payload))
            case "openUrl": self = .openUrl(title: title, url: try c.decode(String.self, forKey: .url))
            case "dial": self = .dial(title: title, phone: try c.decode(String.self, forKey: .phone))
            case "shareLocation": self = .shareLocation(title: title)
            case "viewLocation":
                self = .viewLocation(
                    title: title, latitude: try c.decode(Double.self, forKey: .latitude),
                    longitude: try c.decode(Double.self, forKey: .longitude), label: try c.decodeIfPresent(String.self, forKey: .label))
            case "calendar":
                self = .calendar(
                    title: title, startTime: try c.decode(String.self, forKey: .startTime),
                    endTime: try c.decode(String.self, forKey: .endTime), eventTitle: try c.decode(String.self, forKey: .eventTitle),
                    description: try c.decodeIfPresent(String.self, forKey: .description))
            default:
                throw DecodingError.dataCorruptedError(
                    forKey: .kind, in: c, debugDescription: "'\(kind.prefix(40))' is not one of \(Self.kinds.joined(separator: ", "))")
            }
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(kind, forKey: .kind)
            try c.encode(title, forKey: .title)
            switch self {
            case .reply(_, let payload): try c.encode(payload, forKey: .payload)
            case .openUrl(_, let url): try c.encode(url, forKey: .url)
            case .dial(_, let phone): try c.encode(phone, forKey: .phone)
            case .shareLocation: break
            case .viewLocation(_, let latitude, let longitude, let label):
                try c.encode(latitude, forKey: .latitude)
                try c.encode(longitude, forKey: .longitude)
                try c.encodeIfPresent(label, forKey: .label)
            case .calendar(_, let start, let end, let eventTitle, let description):
                try c.encode(start, forKey: .startTime)
                try c.encode(end, forKey: .endTime)
                try c.encode(eventTitle, forKey: .eventTitle)
                try c.encodeIfPresent(description, forKey: .description)
            }
        }
    }
}

/// The channel-independent rules of rich content (cards and actions): pure, shared by the API
/// (422 naming the part) and the outbox. What each channel can carry is its adapter's to say.
public enum RichContentRules {
    /// Cards in one message: 1 is a standalone card, 2 to 10 a carousel (RBM's and Messenger's limit).
    public static let maxCards = 10
    /// Longest card title and description (RBM's: 200 and 2,000 characters).
    public static let maxCardTitle = 200
    public static let maxCardDescription = 2000
    /// Actions on one card (RBM shows at most 4 on a card; Messenger 3 buttons an element).
    public static let maxCardActions = 4
    /// Actions on the message itself (RBM: 11 suggestions).
    public static let maxMessageActions = 11
    /// Longest action title (RBM's suggestion text: 25 characters).
    public static let maxActionTitle = 25
    /// Longest reply payload (RBM's postbackData: 2,048; Messenger's postback payload: 1,000).
    public static let maxPayload = 1000

    /// The first problem with the content's cards and actions, naming the part; nil when sound.
    public static func problem(_ content: Content, allowHTTP: Bool = false) -> MessageError? {
        if content.location != nil {
            return MessageError(
                code: "invalid_location",
                message: "location: a place goes on its own message or as a viewLocation action, not beside cards or actions")
        }
        if content.cards.count > maxCards {
            return MessageError(code: "invalid_card", message: "cards: at most \(maxCards) (a carousel holds 2 to 10); this message has \(content.cards.count)")
        }
        for (index, card) in content.cards.enumerated() {
            let part = "cards[\(index)]"
            if (card.title ?? "").isEmpty && (card.description ?? "").isEmpty && card.media == nil {
                return MessageError(code: "invalid_card", message: "\(part): a card needs a title, a description or media")
            }
            if let title = card.title, title.count > maxCardTitle {
                return MessageError(code: "invalid_card", message: "\(part).title: at most \(maxCardTitle) characters")
            }
            if let description = card.description, description.count > maxCardDescription {
                return MessageError(code: "invalid_card", message: "\(part).description: at most \(maxCardDescription) characters")
            }
            if let media = card.media, let problem = ExternalURL.problem(media.url, allowHTTP: allowHTTP) {
                return MessageError(code: "invalid_url", message: "\(part).media.url \(problem)")
            }
            if card.actions.count > maxCardActions {
                return MessageError(code: "invalid_action", message: "\(part).actions: at most \(maxCardActions) a card")
            }
            for (actionIndex, action) in card.actions.enumerated() {
                if let problem = problem(action, part: "\(part).actions[\(actionIndex)]") { return problem }
            }
        }
        if content.actions.count > maxMessageActions {
            return MessageError(code: "invalid_action", message: "actions: at most \(maxMessageActions) on a message")
        }
        for (index, action) in content.actions.enumerated() {
            if let problem = problem(action, part: "actions[\(index)]") { return problem }
        }
        return nil
    }

    /// The problem with one action (`part` names it in the message).
    public static func problem(_ action: Content.Action, part: String) -> MessageError? {
        func refuse(_ text: String) -> MessageError { MessageError(code: "invalid_action", message: "\(part): \(text)") }
        if action.title.trimmingWhitespace().isEmpty { return refuse("an action needs a title") }
        if action.title.count > maxActionTitle { return refuse("a title has at most \(maxActionTitle) characters") }
        switch action {
        case .reply(_, let payload):
            if payload.isEmpty || payload.count > maxPayload { return refuse("a reply needs a payload of 1 to \(maxPayload) characters") }
        case .openUrl(_, let url):
            // Opened by the contact's phone: https only, whatever the channel.
            if let problem = ExternalURL.problem(url, allowHTTP: false) {
                return MessageError(code: "invalid_url", message: "\(part).url \(problem)")
            }
        case .dial(_, let phone):
            if PhoneNumber.e164(phone) != phone { return refuse("a dial action needs an E.164 phone number such as +15551234567") }
        case .shareLocation:
            break
        case .viewLocation(_, let latitude, let longitude, _):
            if Content.Location.checked(latitude: latitude, longitude: longitude) == nil {
                return refuse("viewLocation needs a latitude within ±90 and a longitude within ±180")
            }
        case .calendar(_, let start, let end, let eventTitle, _):
            guard let startDate = Timestamp.date(from: start), let endDate = Timestamp.date(from: end) else {
                return refuse("calendar startTime and endTime are ISO 8601 times such as 2026-12-24T18:00:00Z")
            }
            if endDate <= startDate { return refuse("calendar endTime must be after startTime") }
            if eventTitle.trimmingWhitespace().isEmpty { return refuse("calendar needs an eventTitle") }
        }
        return nil
    }
}
