import Foundation

/// The Messenger Send API as the simulator plays it: `POST /v{N}/me/messages?access_token=…`.
///
/// Checks the page access token, the recipient, a message with text or an attachment, and the
/// quick reply rules (at most 13, `content_type: text` needs a title), answering like the Graph API:
/// `{"recipient_id", "message_id"}` or `{"error": {"message", "type", "code", "fbtrace_id"}}`
/// (https://developers.facebook.com/docs/messenger-platform/error-codes).
struct MessengerSendFake: Sendable {
    let pageAccessToken: String?

    struct Answer: Sendable {
        var status: Int
        var body: [String: JSONValue]
        var messageId: String?
    }

    func answer(accessToken: String?, body: [UInt8]) -> Answer {
        guard let pageAccessToken, accessToken == pageAccessToken else {
            return Self.error(status: 400, code: 190, type: "OAuthException", message: "Invalid OAuth access token.")
        }
        guard let json = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] else {
            return Self.error(status: 400, code: 100, type: "OAuthException", message: "(#100) Invalid JSON for postbody")
        }
        guard let recipient = (json["recipient"] as? [String: Any])?["id"] as? String, !recipient.isEmpty else {
            return Self.error(status: 400, code: 100, type: "OAuthException", message: "(#100) The parameter recipient is required")
        }
        guard let message = json["message"] as? [String: Any] else {
            return Self.error(status: 400, code: 100, type: "OAuthException", message: "(#100) param message must be non-empty.")
        }
        let text = message["text"] as? String
        let attachment = message["attachment"] as? [String: Any]
        guard (text?.isEmpty == false) != (attachment != nil) else {
            return Self.error(status: 400, code: 100, type: "OAuthException", message: "(#100) Must send either text or attachment")
        }
        if let text, text.count > 2000 {
            return Self.error(status: 400, code: 100, type: "OAuthException", message: "(#100) Length of param message[text] must be less than or equal to 2000")
        }
        if let attachment, let problem = Self.attachmentProblem(attachment) {
            return Self.error(status: 400, code: 100, type: "OAuthException", message: "(#100) " + problem)
        }
        if let replies = message["quick_replies"] as? [[String: Any]] {
            if replies.count > 13 {
                return Self.error(status: 400, code: 100, type: "OAuthException", message: "(#100) param message[quick_replies] must have a maximum of 13 elements")
            }
            for reply in replies where reply["content_type"] as? String == "text" && ((reply["title"] as? String) ?? "").isEmpty {
                return Self.error(status: 400, code: 100, type: "OAuthException", message: "(#100) Title is required for text quick replies")
            }
        }
        let messageId = "m_" + TwilioMessagesFake.hex(count: 40)
        return Answer(status: 200, body: ["recipient_id": .string(recipient), "message_id": .string(messageId)], messageId: messageId)
    }

    /// What the Send API refuses in an attachment: an unknown type, a file without a URL, and the
    /// templates' limits (generic: 1 to 10 elements, title and subtitle 80 characters, 3 buttons;
    /// button: text 640 characters, 1 to 3 buttons; a button title 20 characters, a postback's
    /// payload 1,000) from https://developers.facebook.com/docs/messenger-platform/send-messages/template/generic
    /// and .../buttons.
    static func attachmentProblem(_ attachment: [String: Any]) -> String? {
        let type = attachment["type"] as? String ?? ""
        let payload = attachment["payload"] as? [String: Any] ?? [:]
        switch type {
        case "image", "video", "audio", "file":
            return (payload["url"] as? String ?? "").isEmpty && payload["attachment_id"] == nil
                ? "param message[attachment][payload][url] is required" : nil
        case "template":
            break
        default:
            return "param message[attachment][type] must be one of {image, video, audio, file, template}"
        }
        switch payload["template_type"] as? String {
        case "generic":
            guard let elements = payload["elements"] as? [[String: Any]], (1...10).contains(elements.count) else {
                return "param message[attachment][payload][elements] must have between 1 and 10 elements"
            }
            for (index, element) in elements.enumerated() {
                let path = "message[attachment][payload][elements][\(index)]"
                guard let title = element["title"] as? String, !title.isEmpty else { return "param \(path)[title] is required" }
                if title.count > 80 { return "param \(path)[title] must be at most 80 characters" }
                if !["subtitle", "image_url", "default_action", "buttons"].contains(where: { element[$0] != nil }) {
                    return "param \(path) must set at least one of subtitle, image_url, default_action or buttons"
                }
                if let subtitle = element["subtitle"] as? String, subtitle.count > 80 { return "param \(path)[subtitle] must be at most 80 characters" }
                if let url = element["image_url"] as? String, !url.hasPrefix("https://"), !url.hasPrefix("http://") {
                    return "param \(path)[image_url] must be a URL"
                }
                if let problem = buttonsProblem(element["buttons"], required: false, path: "\(path)[buttons]") { return problem }
            }
            return nil
        case "button":
            guard let text = payload["text"] as? String, !text.isEmpty else { return "param message[attachment][payload][text] is required" }
            if text.count > 640 { return "param message[attachment][payload][text] must be at most 640 characters" }
            return buttonsProblem(payload["buttons"], required: true, path: "message[attachment][payload][buttons]")
        default:
            return "param message[attachment][payload][template_type] is not supported"
        }
    }

    static func buttonsProblem(_ value: Any?, required: Bool, path: String) -> String? {
        guard let value else { return required ? "param \(path) is required" : nil }
        guard let buttons = value as? [[String: Any]], (required ? 1 : 0)...3 ~= buttons.count else {
            return "param \(path) must have at most 3 buttons"
        }
        for (index, button) in buttons.enumerated() {
            let part = "\(path)[\(index)]"
            guard let title = button["title"] as? String, !title.isEmpty, title.count <= 20 else {
                return "param \(part)[title] must be 1 to 20 characters"
            }
            switch button["type"] as? String {
            case "web_url":
                guard let url = button["url"] as? String, url.hasPrefix("https://") || url.hasPrefix("http://") else {
                    return "param \(part)[url] must be a URL"
                }
            case "postback":
                guard let payload = button["payload"] as? String, !payload.isEmpty, payload.count <= 1000 else {
                    return "param \(part)[payload] must be 1 to 1000 characters"
                }
            case "phone_number":
                guard let phone = button["payload"] as? String, phone.hasPrefix("+") else {
                    return "param \(part)[payload] must be a phone number starting with +"
                }
            default:
                return "param \(part)[type] must be web_url, postback or phone_number"
            }
        }
        return nil
    }

    static func error(status: Int, code: Int, type: String, message: String) -> Answer {
        Answer(status: status, body: [
            "error": .object([
                "message": .string(message), "type": .string(type), "code": .number(Double(code)),
                "fbtrace_id": .string(TwilioMessagesFake.hex(count: 11)),
            ]),
        ], messageId: nil)
    }

    /// The message the Graph API gives with a code
    /// (https://developers.facebook.com/docs/messenger-platform/error-codes).
    static func message(forCode code: Int) -> String {
        switch code {
        case 4: "(#4) Application request limit reached"
        case 10: "(#10) This message is sent outside of allowed window."
        case 100: "(#100) No matching user found"
        case 190: "Invalid OAuth access token."
        case 551: "(#551) This person isn't available right now."
        case 613: "(#613) Calls to this api have exceeded the rate limit."
        default: "An unexpected error has occurred. Please retry your request later."
        }
    }
}
