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
