import Foundation

/// The rules every outbound message meets before a provider is called; pure functions, shared by
/// the API (which refuses early with 409/422) and the outbox (which checks again at send time).
public enum OutboundPolicy {
    /// Longest text each channel carries in one message. Longer text is refused
    /// (`content_too_long`), never truncated: Twilio's `Body` limit (error 21617), Messenger's
    /// 2,000 characters, RBM's 3,072 (shared/research/providers.md).
    public static func maxTextLength(_ channel: Channel) -> Int? {
        switch channel {
        case .sms: 1600
        case .messenger: 2000
        case .rcs: 3072
        case .webchat: 10_000
        }
    }

    /// Why content cannot go out on a channel at all, if it cannot.
    public static func contentProblem(_ content: Content, channel: Channel) -> MessageError? {
        if content.isEmpty || ((content.text ?? "").isEmpty && content.attachments.isEmpty && content.location == nil
            && content.cards.isEmpty) {
            return MessageError(code: "empty_content", message: "a message needs text, an attachment, a location or a card")
        }
        if let limit = maxTextLength(channel), let text = content.text, text.count > limit {
            return MessageError(
                code: "content_too_long",
                message: "\(channel.rawValue) carries at most \(limit) characters of text; this one has \(text.count)")
        }
        for reply in content.quickReplies where reply.title.isEmpty || reply.payload.isEmpty {
            return MessageError(code: "invalid_quick_reply", message: "every quick reply needs a title and a payload")
        }
        if let location = content.location, Content.Location.checked(latitude: location.latitude, longitude: location.longitude) == nil {
            return MessageError(code: "invalid_location", message: "location needs a latitude within ±90 and a longitude within ±180")
        }
        if let problem = content.urlProblem(for: channel) {
            return MessageError(code: "invalid_url", message: "\(problem) (\(channel.rawValue))")
        }
        if content.isRich, let problem = RichContentRules.problem(content, allowHTTP: channel.allowsPlainHTTPMedia) {
            return problem
        }
        return nil
    }

    /// How a Messenger message may go out, given the contact's window.
    public enum MessengerWindow: Sendable, Equatable {
        /// Inside the 24-hour window: `messaging_type: RESPONSE`.
        case response
        /// Outside it but within 7 days of the contact's last message, by a human agent:
        /// `messaging_type: MESSAGE_TAG`, `tag: HUMAN_AGENT`.
        case humanAgentTag
        /// Not allowed: refused before any call with `outside_messaging_window`.
        case refused
    }

    /// Meta's rule (https://developers.facebook.com/docs/messenger-platform/policy/): a standard
    /// window of 24 hours after the user's last message; the HUMAN_AGENT tag lets a person reply up
    /// to 7 days after it, where the app has that permission (`allowHumanAgentTag`).
    public static func messengerWindow(
        now: Date, windowOpenUntil: Date?, author: Message.Author.Kind, allowHumanAgentTag: Bool
    ) -> MessengerWindow {
        guard let windowOpenUntil else { return .refused }
        if now < windowOpenUntil { return .response }
        // windowOpenUntil is the last message + 24 h, so 7 days after it is 6 more days.
        if author == .agent, allowHumanAgentTag, now < windowOpenUntil.addingTimeInterval(6 * 24 * 3600) {
            return .humanAgentTag
        }
        return .refused
    }

    /// The error for a message refused by the window rule.
    public static let outsideWindow = MessageError(
        code: "outside_messaging_window",
        message: "the contact's 24-hour Messenger window is closed (and a HUMAN_AGENT reply is not allowed or past 7 days)")

    /// The error for a message to an unsubscribed channel.
    public static func unsubscribed(_ channel: Channel) -> MessageError {
        MessageError(code: "unsubscribed", message: "the contact has unsubscribed from \(channel.rawValue)")
    }
}

/// SMS keywords (whole message, case-insensitive), as the carriers and Twilio treat them
/// (https://www.twilio.com/docs/messaging/tutorials/advanced-opt-out; shared/research/providers.md §1.5).
public enum OptOutKeyword: Sendable, Equatable {
    case stop, start, help

    public static func classify(_ text: String?) -> OptOutKeyword? {
        guard let text else { return nil }
        switch text.trimmingWhitespace().uppercased() {
        case "STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT": return .stop
        case "START", "YES", "UNSTOP": return .start
        case "HELP", "INFO": return .help
        default: return nil
        }
    }
}

/// SMS has no buttons: quick replies go out as "Reply 1 for Yes, 2 for No", and an answer "1" or
/// "2" is mapped back to the quick reply it names.
public enum NumberedChoice {
    /// The quick reply a bare number picks from `choices`, as a postback.
    public static func postback(for text: String?, among choices: [Content.QuickReply]) -> Content.Postback? {
        guard let text, let number = Int(text.trimmingWhitespace()), number >= 1, number <= choices.count else { return nil }
        let choice = choices[number - 1]
        return Content.Postback(title: choice.title, payload: choice.payload)
    }
}
