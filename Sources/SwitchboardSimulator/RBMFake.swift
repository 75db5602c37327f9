import Foundation
import SwitchboardCore

/// RBM's agentMessages and capabilities as the simulator plays them, with Google's error envelope
/// `{"error": {"code", "message", "status"}}`.
struct RBMFake: Sendable {
    let accessToken: String?
    /// Tokens minted for a service account (the simulator's token endpoint), when it plays one.
    var serviceAccountTokens: GoogleTokenFake? = nil
    /// Every feature RBM knows (getCapabilities' Feature enum, minus FEATURE_UNSPECIFIED).
    static let allFeatures = [
        "RICHCARD_STANDALONE", "RICHCARD_CAROUSEL", "ACTION_CREATE_CALENDAR_EVENT", "ACTION_DIAL", "ACTION_OPEN_URL",
        "ACTION_SHARE_LOCATION", "ACTION_VIEW_LOCATION", "ACTION_OPEN_URL_IN_WEBVIEW",
    ]

    struct Answer: Sendable {
        var status: Int
        var body: [String: JSONValue]
        var messageId: String?
    }

    func authorized(_ header: String?) -> Answer? {
        if let accessToken, header == "Bearer " + accessToken { return nil }
        if let serviceAccountTokens, let header, header.hasPrefix("Bearer "), serviceAccountTokens.accepts(String(header.dropFirst(7))) {
            return nil
        }
        // Google's answer to a missing, unknown or expired token.
        return Self.error(
            401, status: "UNAUTHENTICATED",
            message: "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.")
    }

    func agentMessage(phone: String, messageId: String?, authorization: String?, body: [UInt8]) -> Answer {
        if let refused = authorized(authorization) { return refused }
        guard let messageId, !messageId.isEmpty else {
            return Self.error(400, status: "INVALID_ARGUMENT", message: "messageId is required")
        }
        guard PhoneNumber.e164(phone) == phone else {
            return Self.error(400, status: "INVALID_ARGUMENT", message: "Invalid phone number \(phone)")
        }
        guard let json = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any],
              let content = json["contentMessage"] as? [String: Any]
        else {
            return Self.error(400, status: "INVALID_ARGUMENT", message: "contentMessage is required")
        }
        if let problem = Self.contentProblem(content) {
            return Self.error(400, status: "INVALID_ARGUMENT", message: problem)
        }
        return Answer(status: 200, body: [
            "name": .string("phones/\(phone)/agentMessages/\(messageId)"),
            "sendTime": .string(Timestamp.string(from: Date())),
        ], messageId: messageId)
    }

    /// What RBM refuses in an `AgentContentMessage`: not exactly one of text, file or rich card,
    /// and the limits of cards and suggestions
    /// (https://developers.google.com/business-communications/rcs-business-messaging/reference/rest/v1/phones.agentMessages;
    /// ../shared/research/production-notes.md: title 200, description 2,000, 11 suggestions on a
    /// message, 4 on a card, 25 characters of text, 2,048 of postback data, 2 to 10 cards).
    static func contentProblem(_ content: [String: Any]) -> String? {
        let kinds = ["text", "fileName", "uploadedRbmFile", "richCard", "contentInfo"].filter { content[$0] != nil }
        guard kinds.count == 1 else {
            return "AgentContentMessage must set exactly one of text, fileName, uploadedRbmFile, richCard or contentInfo; it sets \(kinds.isEmpty ? "none" : kinds.joined(separator: ", "))"
        }
        if let text = content["text"] as? String, text.isEmpty || text.count > 3072 {
            return "text must be 1 to 3072 characters"
        }
        if let problem = suggestionsProblem(content["suggestions"], limit: 11, path: "contentMessage.suggestions") { return problem }
        guard let richCard = content["richCard"] else { return nil }
        guard let richCard = richCard as? [String: Any] else { return "richCard must be an object" }
        if let standalone = richCard["standaloneCard"] as? [String: Any] {
            guard let orientation = standalone["cardOrientation"] as? String, ["VERTICAL", "HORIZONTAL"].contains(orientation) else {
                return "richCard.standaloneCard.cardOrientation must be VERTICAL or HORIZONTAL"
            }
            guard let card = standalone["cardContent"] as? [String: Any] else { return "richCard.standaloneCard.cardContent is required" }
            return cardProblem(card, path: "richCard.standaloneCard.cardContent")
        }
        if let carousel = richCard["carouselCard"] as? [String: Any] {
            guard let width = carousel["cardWidth"] as? String, ["SMALL", "MEDIUM"].contains(width) else {
                return "richCard.carouselCard.cardWidth must be SMALL or MEDIUM"
            }
            guard let cards = carousel["cardContents"] as? [[String: Any]], (2...10).contains(cards.count) else {
                return "richCard.carouselCard.cardContents must hold 2 to 10 cards"
            }
            for (index, card) in cards.enumerated() {
                if let problem = cardProblem(card, path: "richCard.carouselCard.cardContents[\(index)]") { return problem }
            }
            return nil
        }
        return "richCard must set standaloneCard or carouselCard"
    }

    static func cardProblem(_ card: [String: Any], path: String) -> String? {
        let title = card["title"] as? String
        let description = card["description"] as? String
        if title == nil, description == nil, card["media"] == nil { return "\(path) needs a title, a description or media" }
        if let title, title.count > 200 { return "\(path).title must be at most 200 characters" }
        if let description, description.count > 2000 { return "\(path).description must be at most 2000 characters" }
        if let media = card["media"] {
            guard let media = media as? [String: Any], ["SHORT", "MEDIUM", "TALL"].contains(media["height"] as? String ?? "") else {
                return "\(path).media.height must be SHORT, MEDIUM or TALL"
            }
            guard let info = media["contentInfo"] as? [String: Any], let url = info["fileUrl"] as? String, url.hasPrefix("https://") || url.hasPrefix("http://") else {
                return "\(path).media.contentInfo.fileUrl must be a public URL"
            }
        }
        return suggestionsProblem(card["suggestions"], limit: 4, path: "\(path).suggestions")
    }

    static func suggestionsProblem(_ value: Any?, limit: Int, path: String) -> String? {
        guard let value else { return nil }
        guard let suggestions = value as? [[String: Any]] else { return "\(path) must be an array" }
        if suggestions.count > limit { return "Too many suggestions in \(path) (maximum \(limit))" }
        let actions = ["dialAction", "viewLocationAction", "createCalendarEventAction", "openUrlAction", "shareLocationAction"]
        for (index, suggestion) in suggestions.enumerated() {
            let part = "\(path)[\(index)]"
            let reply = suggestion["reply"] as? [String: Any]
            let action = suggestion["action"] as? [String: Any]
            guard let body = reply ?? action, (reply == nil) != (action == nil) else { return "\(part) must set reply or action" }
            let text = body["text"] as? String ?? ""
            if text.isEmpty || text.count > 25 { return "Suggestion text must be 1 to 25 characters (\(part))" }
            if let data = body["postbackData"] as? String, data.count > 2048 { return "\(part).postbackData must be at most 2048 characters" }
            if let action {
                let set = actions.filter { action[$0] != nil }
                guard set.count == 1 else { return "\(part).action must set exactly one of \(actions.joined(separator: ", "))" }
                if let open = action["openUrlAction"] as? [String: Any], !((open["url"] as? String)?.hasPrefix("https://") ?? false) {
                    return "\(part).action.openUrlAction.url must be an https URL"
                }
                if let dial = action["dialAction"] as? [String: Any], PhoneNumber.e164(dial["phoneNumber"] as? String ?? "") == nil {
                    return "\(part).action.dialAction.phoneNumber must be E.164"
                }
                if let view = action["viewLocationAction"] as? [String: Any], view["latLong"] == nil, view["query"] == nil {
                    return "\(part).action.viewLocationAction needs latLong or query"
                }
                if let event = action["createCalendarEventAction"] as? [String: Any] {
                    for field in ["startTime", "endTime", "title"] where ((event[field] as? String) ?? "").isEmpty {
                        return "\(part).action.createCalendarEventAction.\(field) is required"
                    }
                }
            }
        }
        return nil
    }

    func capabilities(phone: String, authorization: String?) -> Answer {
        if let refused = authorized(authorization) { return refused }
        return Answer(status: 200, body: ["features": .array(Self.allFeatures.map(JSONValue.string))], messageId: nil)
    }

    /// What RBM answers a `messageId` this agent used before: Google's 409 `ALREADY_EXISTS`
    /// (https://cloud.google.com/apis/design/errors#handling_errors; agentMessages.create ignores a
    /// message with an earlier message's id).
    static func alreadyExists(_ messageId: String) -> Answer {
        error(409, status: "ALREADY_EXISTS", message: "Requested entity already exists")
    }

    static func error(_ code: Int, status: String, message: String) -> Answer {
        Answer(status: code, body: [
            "error": .object(["code": .number(Double(code)), "message": .string(message), "status": .string(status)]),
        ], messageId: nil)
    }
}
