import Foundation
import SwitchboardCore

/// Cards and actions on Messenger: the generic template for cards (at most 10 elements, 3 buttons
/// each), the button template for a message's actions (text up to 640 characters, 3 buttons), and
/// reply actions as quick replies when they are the only actions. Pure; the limits are Meta's
/// (https://developers.facebook.com/docs/messenger-platform/send-messages/template/generic,
/// https://developers.facebook.com/docs/messenger-platform/send-messages/buttons).
extension MessengerAdapter {
    public static let maxElements = 10
    public static let maxButtons = 3
    public static let maxElementTitle = 80
    public static let maxElementSubtitle = 80
    public static let maxButtonTitle = 20
    public static let maxButtonTemplateText = 640
    public static let maxPostbackPayload = 1000

    /// A rich message: the Send API's `message` object, and reply actions to add as quick replies.
    struct RichMessage {
        var message: [String: Any]
        var quickReplies: [Content.QuickReply] = []
    }

    /// The `message` object for rich content, or the part Messenger cannot carry.
    static func richMessage(_ content: Content) -> Result<RichMessage, MessageError> {
        func refuse(_ message: String) -> Result<RichMessage, MessageError> {
            .failure(MessageError(code: "not_supported_on_channel", message: "messenger: " + message))
        }
        if !content.attachments.isEmpty {
            return refuse("attachments and cards or actions go in separate messages (a message carries one attachment or one template)")
        }
        var message: [String: Any] = [:]
        let text = content.text ?? ""
        if !content.cards.isEmpty {
            if content.cards.count > maxElements { return refuse("at most \(maxElements) cards") }
            if !content.actions.isEmpty {
                return refuse("a message with cards carries its buttons on the cards; move actions onto a card")
            }
            var elements: [[String: Any]] = []
            for (index, card) in content.cards.enumerated() {
                let part = "cards[\(index)]"
                // The message's text leads the first card's subtitle (Meta's limits allowing).
                let lead = index == 0 && !text.isEmpty ? text : nil
                let description = card.description.flatMap { $0.isEmpty ? nil : $0 }
                var subtitleParts = [lead, description].compactMap { $0 }
                let title: String
                if let cardTitle = card.title, !cardTitle.isEmpty {
                    title = cardTitle
                } else if !subtitleParts.isEmpty {
                    title = subtitleParts.removeFirst()
                } else {
                    return refuse("\(part): a card needs a title or a description")
                }
                let subtitle = subtitleParts.joined(separator: "\n")
                if title.count > maxElementTitle { return refuse("\(part).title: at most \(maxElementTitle) characters") }
                if subtitle.count > maxElementSubtitle {
                    return refuse("\(part): the subtitle (\(lead == nil ? "" : "the message's text and ")the description) has at most \(maxElementSubtitle) characters")
                }
                if card.actions.count > maxButtons { return refuse("\(part).actions: at most \(maxButtons) buttons a card") }
                var element: [String: Any] = ["title": title]
                if !subtitle.isEmpty { element["subtitle"] = subtitle }
                if let media = card.media {
                    if Content.Attachment.kind(forMimeType: media.mimeType) != .image, media.mimeType != nil {
                        return refuse("\(part).media: a card shows an image (\(media.mimeType ?? "")) only")
                    }
                    element["image_url"] = media.url
                }
                var buttons: [[String: Any]] = []
                for (actionIndex, action) in card.actions.enumerated() {
                    switch button(action) {
                    case .success(let button): buttons.append(button)
                    case .failure(let error): return refuse("\(part).actions[\(actionIndex)]: \(error.message)")
                    }
                }
                if !buttons.isEmpty { element["buttons"] = buttons }
                // Meta: "at least one property besides title must be set" (subtitle, image, buttons).
                guard element.count > 1 else { return refuse("\(part): a card needs a description, a picture or a button beside its title") }
                elements.append(element)
            }
            message["attachment"] = ["type": "template", "payload": ["template_type": "generic", "elements": elements]]
        } else {
            let replies = content.actions.compactMap { action -> Content.QuickReply? in
                if case .reply(let title, let payload) = action { return .init(title: title, payload: payload) }
                return nil
            }
            if replies.count == content.actions.count {
                // Replies only: quick replies under the text.
                if text.isEmpty { return refuse("reply actions need text to stand under") }
                message["text"] = text
                return .success(RichMessage(message: message, quickReplies: replies))
            }
            if text.isEmpty { return refuse("buttons need text (the button template's)") }
            if text.count > maxButtonTemplateText {
                return refuse("text with buttons has at most \(maxButtonTemplateText) characters")
            }
            if content.actions.count > maxButtons { return refuse("actions: at most \(maxButtons) buttons on a message") }
            var buttons: [[String: Any]] = []
            for (index, action) in content.actions.enumerated() {
                switch button(action) {
                case .success(let button): buttons.append(button)
                case .failure(let error): return refuse("actions[\(index)]: \(error.message)")
                }
            }
            message["attachment"] = ["type": "template", "payload": ["template_type": "button", "text": text, "buttons": buttons]]
        }
        return .success(RichMessage(message: message))
    }

    static func quickReply(_ reply: Content.QuickReply) -> [String: Any] {
        ["content_type": "text", "title": String(reply.title.prefix(maxQuickReplyTitle)), "payload": reply.payload]
    }

    /// A button for `action`: `postback`, `web_url` or `phone_number`; a place opens as a map
    /// link and an event as a Google Calendar link. Messenger cannot ask for a location.
    static func button(_ action: Content.Action) -> Result<[String: Any], MessageError> {
        let title = action.title
        if title.count > maxButtonTitle {
            return .failure(MessageError(code: "not_supported_on_channel", message: "a button title has at most \(maxButtonTitle) characters"))
        }
        switch action {
        case .reply(_, let payload):
            if payload.count > maxPostbackPayload {
                return .failure(MessageError(code: "not_supported_on_channel", message: "a postback payload has at most \(maxPostbackPayload) characters"))
            }
            return .success(["type": "postback", "title": title, "payload": payload])
        case .openUrl(_, let url):
            return .success(["type": "web_url", "title": title, "url": url])
        case .dial(_, let phone):
            return .success(["type": "phone_number", "title": title, "payload": phone])
        case .viewLocation(_, let latitude, let longitude, _):
            return .success(["type": "web_url", "title": title, "url": RichContentText.mapLink(latitude: latitude, longitude: longitude)])
        case .calendar(_, let start, let end, let eventTitle, let description):
            guard let link = calendarLink(start: start, end: end, title: eventTitle, details: description) else {
                return .failure(MessageError(code: "invalid_action", message: "calendar times are not ISO 8601"))
            }
            return .success(["type": "web_url", "title": title, "url": link])
        case .shareLocation:
            return .failure(MessageError(
                code: "not_supported_on_channel", message: "Messenger cannot ask for a location (Meta removed location quick replies)"))
        }
    }

    /// A Google Calendar "add event" link (`action=TEMPLATE`, `dates=START/END` in UTC basic format).
    static func calendarLink(start: String, end: String, title: String, details: String?) -> String? {
        guard let startDate = Timestamp.date(from: start), let endDate = Timestamp.date(from: end) else { return nil }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        var link = "https://calendar.google.com/calendar/render?action=TEMPLATE&text=" + FormURLEncoding.escape(title)
            + "&dates=" + formatter.string(from: startDate) + "/" + formatter.string(from: endDate)
        if let details, !details.isEmpty { link += "&details=" + FormURLEncoding.escape(details) }
        return link
    }

    public func contentProblem(_ content: Content) -> MessageError? {
        guard content.isRich else {
            if content.quickReplies.count > Self.maxQuickReplies {
                return MessageError(
                    code: "not_supported_on_channel",
                    message: "messenger: at most \(Self.maxQuickReplies) quick replies; this message has \(content.quickReplies.count)")
            }
            // Text alone is OutboundPolicy's to check (this runs at send time for every message). A
            // single attachment goes as itself; anything else as one text with the links.
            guard !content.attachments.isEmpty || content.location != nil, !Self.sendsAttachmentAlone(content) else { return nil }
            let text = Self.plainText(content)
            if text.count > Self.maxText {
                return MessageError(
                    code: "content_too_long",
                    message: "messenger: at most \(Self.maxText) characters of text; with the attachments' links and the place this one has \(text.count)")
            }
            return nil
        }
        switch Self.richMessage(content) {
        case .failure(let error):
            return error
        case .success(let rich):
            let count = content.quickReplies.count + rich.quickReplies.count
            if count > Self.maxQuickReplies {
                return MessageError(code: "not_supported_on_channel", message: "messenger: at most \(Self.maxQuickReplies) quick replies; this message has \(count)")
            }
            return nil
        }
    }
}
