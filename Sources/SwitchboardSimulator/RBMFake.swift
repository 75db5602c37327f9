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
        if let suggestions = content["suggestions"] as? [[String: Any]] {
            if suggestions.count > 11 {
                return Self.error(400, status: "INVALID_ARGUMENT", message: "Too many suggestions (maximum 11)")
            }
            for suggestion in suggestions {
                let text = ((suggestion["reply"] ?? suggestion["action"]) as? [String: Any])?["text"] as? String ?? ""
                if text.isEmpty || text.count > 25 {
                    return Self.error(400, status: "INVALID_ARGUMENT", message: "Suggestion text must be 1 to 25 characters")
                }
            }
        }
        return Answer(status: 200, body: [
            "name": .string("phones/\(phone)/agentMessages/\(messageId)"),
            "sendTime": .string(Timestamp.string(from: Date())),
        ], messageId: messageId)
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
