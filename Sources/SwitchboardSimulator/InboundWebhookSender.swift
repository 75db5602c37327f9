import CurlHTTPClient
import Foundation
import MessengerAdapter
import RBMAdapter
import SwitchboardCore
import TwilioSMSAdapter

/// Sends correctly signed inbound webhooks to a gateway, as the providers would.
public struct InboundWebhookSender: Sendable {
    /// Where the gateway listens (`http://127.0.0.1:8080`).
    public var gatewayURL: String
    /// The base URL the gateway believes providers call (its `SWITCHBOARD_PUBLIC_URL`); Twilio signs over it.
    public var publicURL: String
    public var accounts: ProviderAccounts
    let client: CurlHTTPClient

    public init(gatewayURL: String, publicURL: String? = nil, accounts: ProviderAccounts, client: CurlHTTPClient) {
        self.gatewayURL = Self.trimmed(gatewayURL)
        self.publicURL = Self.trimmed(publicURL ?? gatewayURL)
        self.accounts = accounts
        self.client = client
    }

    /// The page the simulated people write to (`recipient.id`, `entry[].id`).
    public var pageId: String { accounts[MessengerConfigurationSection.self]?.pageId ?? "PAGE_ID" }

    /// The RBM agent the simulated phones write to.
    public var agentId: String { accounts[RBMConfigurationSection.self]?.agentId ?? "agent" }

    /// What the gateway answered.
    public struct Delivery: Sendable {
        public var status: Int
        public var body: String
        /// The provider message id the webhook carried.
        public var providerMessageId: String
    }

    /// A webhook as a provider signed it, ready to send (and to send again).
    public struct SignedWebhook: Sendable {
        /// The gateway's path (`/webhooks/rbm`).
        public var path: String
        public var contentType: String
        public var body: [UInt8]
        /// The signature header and any other the provider sends.
        public var headers: [(name: String, value: String)]
        /// The provider message id it carries, if any.
        public var providerMessageId: String
    }

    /// Why a webhook could not be made.
    public struct MissingAccount: Error, CustomStringConvertible {
        public var description: String
    }

    /// A new provider-style message id.
    public static func newID(prefix: String, hexDigits: Int) -> String {
        prefix + TwilioMessagesFake.hex(count: hexDigits)
    }

    // MARK: Twilio

    /// An inbound SMS/MMS webhook with Twilio's parameters
    /// (https://www.twilio.com/docs/messaging/guides/webhook-request).
    public func twilioSMSForm(
        from: String, text: String?, mediaURLs: [(url: String, mimeType: String)] = [], messageSid: String? = nil
    ) -> [(String, String)] {
        let sid = messageSid ?? Self.newID(prefix: "SM", hexDigits: 32)
        let account = accounts[TwilioConfigurationSection.self]
        var form: [(String, String)] = [
            ("ToCountry", "US"), ("ToState", "CA"), ("SmsMessageSid", sid), ("NumMedia", "\(mediaURLs.count)"),
            ("ToCity", ""), ("FromZip", ""), ("SmsSid", sid), ("FromState", ""), ("SmsStatus", "received"),
            ("FromCity", ""), ("Body", text ?? ""), ("FromCountry", "US"), ("To", account?.from ?? "+15550001111"),
            ("ToZip", ""), ("NumSegments", "1"), ("MessageSid", sid), ("AccountSid", account?.accountSid ?? ""),
            ("From", from), ("ApiVersion", "2010-04-01"),
        ]
        for (index, media) in mediaURLs.enumerated() {
            form.append(("MediaContentType\(index)", media.mimeType))
            form.append(("MediaUrl\(index)", media.url))
        }
        return form
    }

    /// Posts a Twilio form to `path` with a valid `X-Twilio-Signature` (or `signature` when given, to test refusals).
    public func postTwilio(path: String = "/webhooks/twilio/sms", form: [(String, String)], signature: String? = nil) async throws -> Delivery {
        try await send(twilioWebhook(path: path, form: form, signature: signature))
    }

    /// The signed request `postTwilio` sends.
    public func twilioWebhook(path: String = "/webhooks/twilio/sms", form: [(String, String)], signature: String? = nil) -> SignedWebhook {
        let signer = TwilioSignature(authToken: accounts[TwilioConfigurationSection.self]?.authToken ?? "")
        let computed = signer.compute(url: publicURL + path, parameters: form)
        let sid = form.first { $0.0 == "MessageSid" }?.1 ?? ""
        return SignedWebhook(
            path: path, contentType: "application/x-www-form-urlencoded", body: Array(FormURLEncoding.encode(form).utf8),
            headers: [(name: "X-Twilio-Signature", value: signature ?? computed), (name: "User-Agent", value: "TwilioProxy/1.1")],
            providerMessageId: sid)
    }

    /// Sends an inbound SMS from `from` saying `text`.
    public func sendSMS(
        from: String, text: String, mediaURLs: [(url: String, mimeType: String)] = [], messageSid: String? = nil
    ) async throws -> Delivery {
        try await postTwilio(form: twilioSMSForm(from: from, text: text, mediaURLs: mediaURLs, messageSid: messageSid))
    }

    // MARK: Messenger

    /// One `messaging` event of a user writing to the page (text, and a quick-reply payload when given),
    /// in the shape of https://developers.facebook.com/docs/messenger-platform/reference/webhook-events/messages.
    public func messengerMessageEvent(psid: String, text: String, quickReplyPayload: String? = nil, mid: String? = nil, timestamp: Date = Date()) -> [String: Any] {
        var message: [String: Any] = ["mid": mid ?? Self.newID(prefix: "m_", hexDigits: 40), "text": text]
        if let quickReplyPayload { message["quick_reply"] = ["payload": quickReplyPayload] }
        return [
            "sender": ["id": psid], "recipient": ["id": pageId],
            "timestamp": Int64(timestamp.timeIntervalSince1970 * 1000), "message": message,
        ]
    }

    /// A person reacting to one of the page's messages, or taking the reaction back (`emoji` nil), in
    /// the shape of https://developers.facebook.com/docs/messenger-platform/reference/webhook-events/message-reactions
    /// (`reaction` names the kind: smile, angry, sad, wow, love, like, dislike, other).
    public func messengerReactionEvent(psid: String, to mid: String, emoji: String?, timestamp: Date = Date()) -> [String: Any] {
        var reaction: [String: Any] = ["mid": mid, "action": emoji == nil ? "unreact" : "react"]
        if let emoji {
            let names = ["😆": "smile", "😠": "angry", "😢": "sad", "😮": "wow", "❤️": "love", "❤": "love", "👍": "like", "👎": "dislike"]
            (reaction["emoji"], reaction["reaction"]) = (emoji, names[emoji] ?? "other")
        }
        return [
            "sender": ["id": psid], "recipient": ["id": pageId],
            "timestamp": Int64(timestamp.timeIntervalSince1970 * 1000), "reaction": reaction,
        ]
    }

    /// A Messenger webhook (`{"object": "page", "entry": [...]}`) carrying `events`, signed with
    /// `X-Hub-Signature-256` over the exact bytes sent (or `signature` when given).
    public func postMessenger(events: [[String: Any]], signature: String? = nil) async throws -> Delivery {
        try await send(messengerWebhook(events: events, signature: signature))
    }

    /// The signed request `postMessenger` sends.
    public func messengerWebhook(events: [[String: Any]], signature: String? = nil) throws -> SignedWebhook {
        guard let secret = accounts[MessengerConfigurationSection.self]?.appSecret else { throw MissingAccount(description: "no Messenger app secret") }
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let body: [String: Any] = [
            "object": "page",
            "entry": [["id": pageId, "time": now, "messaging": events]],
        ]
        let data = Array(try JSONSerialization.data(withJSONObject: body))
        let first = events.first.flatMap { ($0["message"] ?? $0["reaction"]) as? [String: Any] }
        let mid = first?["mid"] as? String ?? ""
        return SignedWebhook(
            path: "/webhooks/messenger", contentType: "application/json", body: data,
            headers: [(name: "X-Hub-Signature-256", value: signature ?? "sha256=" + HMACSignature.sha256Hex(key: secret, message: data))],
            providerMessageId: mid)
    }

    /// Sends a Messenger text from `psid`, written at `timestamp` (now by default).
    public func sendMessenger(
        psid: String, text: String, quickReplyPayload: String? = nil, mid: String? = nil, timestamp: Date = Date()
    ) async throws -> Delivery {
        try await postMessenger(events: [
            messengerMessageEvent(psid: psid, text: text, quickReplyPayload: quickReplyPayload, mid: mid, timestamp: timestamp),
        ])
    }

    // MARK: RBM

    /// A UserMessage (https://developers.google.com/business-communications/rcs-business-messaging/reference/rest/v1/UserMessage).
    public func rbmUserMessage(phone: String, text: String? = nil, postbackData: String? = nil, messageId: String? = nil) -> [String: Any] {
        var message: [String: Any] = [
            "senderPhoneNumber": phone, "messageId": messageId ?? UUID().uuidString,
            "sendTime": Timestamp.string(from: Date()), "agentId": agentId,
        ]
        if let postbackData {
            message["suggestionResponse"] = ["postbackData": postbackData, "text": text ?? postbackData, "type": "REPLY"]
        } else {
            message["text"] = text ?? ""
        }
        return message
    }

    /// A Pub/Sub push carrying `payload` (a UserMessage or UserEvent) as base64 `message.data`, with
    /// `X-Goog-Signature` = base64(HMAC-SHA512(clientToken, the decoded data)) (or `signature` when given).
    public func postRBM(payload: [String: Any], signature: String? = nil) async throws -> Delivery {
        try await send(rbmWebhook(payload: payload, signature: signature))
    }

    /// The signed Pub/Sub push `postRBM` sends.
    public func rbmWebhook(payload: [String: Any], signature: String? = nil) throws -> SignedWebhook {
        guard let clientToken = accounts[RBMConfigurationSection.self]?.clientToken else { throw MissingAccount(description: "no RBM client token") }
        let data = Array(try JSONSerialization.data(withJSONObject: payload))
        let envelope: [String: Any] = [
            "message": [
                "data": Data(data).base64EncodedString(), "messageId": String(Int.random(in: 1_000_000...9_999_999)),
                "publishTime": Timestamp.string(from: Date()),
            ],
            "subscription": "projects/rbm-\(agentId)/subscriptions/rbm-agent-subscription",
        ]
        return SignedWebhook(
            path: "/webhooks/rbm", contentType: "application/json", body: Array(try JSONSerialization.data(withJSONObject: envelope)),
            headers: [(name: "X-Goog-Signature", value: signature ?? HMACSignature.sha512Base64(key: clientToken, message: data))],
            providerMessageId: payload["messageId"] as? String ?? "")
    }

    /// Sends an RCS text (or a suggestion reply, with `postbackData`) from `phone`.
    public func sendRCS(phone: String, text: String, postbackData: String? = nil, messageId: String? = nil) async throws -> Delivery {
        try await postRBM(payload: rbmUserMessage(phone: phone, text: text, postbackData: postbackData, messageId: messageId))
    }

    // MARK: Transport

    /// Posts a signed webhook to the gateway. Sending the same value again is a provider's
    /// redelivery: the same bytes, the same signature.
    public func send(_ webhook: SignedWebhook) async throws -> Delivery {
        let response = try await client.execute(HTTPClientRequest(
            method: "POST", url: gatewayURL + webhook.path,
            headers: [(name: "Content-Type", value: webhook.contentType)] + webhook.headers, body: webhook.body))
        return Delivery(status: response.status, body: String(decoding: response.body, as: UTF8.self), providerMessageId: webhook.providerMessageId)
    }

    static func trimmed(_ url: String) -> String {
        var url = url
        while url.hasSuffix("/") { url.removeLast() }
        return url
    }
}
