import Foundation
import SwitchboardCore

/// Facebook Messenger: the subscription handshake, signed webhook events, and the Send API.
public struct MessengerAdapter: InboundChannelAdapter, OutboundChannelAdapter, WebhookHandshake {
    public let channel = Channel.messenger
    public let settings: MessengerSettings

    /// The app's callback URL: `GET` for the subscription handshake, `POST` for events.
    public static let webhookPath = "webhooks/messenger"
    public static let webhookEndpoints = [WebhookEndpoint("GET", webhookPath), WebhookEndpoint("POST", webhookPath)]

    public init(settings: MessengerSettings) {
        self.settings = settings
    }

    /// Meta wants a plain 200 within 20 seconds.
    public var acknowledgement: WebhookAcknowledgement {
        WebhookAcknowledgement(contentType: "text/plain; charset=utf-8", body: "EVENT_RECEIVED")
    }

    // MARK: Handshake

    /// `GET ?hub.mode=subscribe&hub.verify_token=…&hub.challenge=…`: the challenge when the token
    /// matches, else `.badSignature` (403).
    public func handshake(query: [(String, String)]) throws(WebhookError) -> String {
        let values = Dictionary(query, uniquingKeysWith: { first, _ in first })
        guard values["hub.mode"] == "subscribe" else {
            throw .invalid("hub.mode must be subscribe")
        }
        guard let token = values["hub.verify_token"],
              HMACSignature.constantTimeEquals(Array(token.utf8), Array(settings.verifyToken.utf8))
        else {
            throw .badSignature("hub.verify_token does not match MESSENGER_VERIFY_TOKEN")
        }
        guard let challenge = values["hub.challenge"] else {
            throw .invalid("hub.challenge is missing")
        }
        return challenge
    }

    /// A `GET` is the subscription handshake (answered with `hub.challenge`); a `POST` carries events.
    public func handshakeAnswer(_ request: WebhookRequest) throws(WebhookError) -> String? {
        guard request.method == "GET" else { return nil }
        return try handshake(query: request.query)
    }

    // MARK: Events

    /// `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body with the app secret>`.
    public func verify(_ request: WebhookRequest) throws(WebhookError) {
        guard request.mediaType == "application/json" else {
            throw .unsupportedMediaType("Messenger webhooks are application/json")
        }
        guard let header = request.header("X-Hub-Signature-256"), header.hasPrefix("sha256=") else {
            throw .badSignature("the X-Hub-Signature-256 header is missing")
        }
        let expected = HMACSignature.sha256Hex(key: settings.appSecret, message: request.body)
        guard HMACSignature.constantTimeEquals(Array(header.dropFirst(7).lowercased().utf8), Array(expected.utf8)) else {
            throw .badSignature("the X-Hub-Signature-256 header does not match the body")
        }
    }

    public func decode(_ request: WebhookRequest) throws(WebhookError) -> [InboundEvent] {
        let webhook: MessengerWebhook
        do {
            webhook = try JSONDecoder().decode(MessengerWebhook.self, from: Data(request.body))
        } catch {
            throw .malformed("the body is not a Messenger webhook: \(Self.describe(error))")
        }
        guard webhook.object == "page" else {
            return [.ignored("Messenger webhook for object '\(webhook.object)'")]
        }
        var events: [InboundEvent] = []
        for entry in webhook.entry {
            for event in entry.messaging ?? [] {
                events.append(Self.event(from: event))
            }
        }
        return events
    }

    static func event(from event: MessengerWebhook.Event) -> InboundEvent {
        guard let sender = event.sender?.id else { return .ignored("Messenger event without a sender") }
        // Meta's times are milliseconds since 1970; anything else is dropped (logged by the
        // pipeline), never converted: `1e22` must not reach an Int64 conversion.
        var sentAt: Date?
        if let timestamp = event.timestamp {
            guard let date = Timestamp.providerDate(millis: timestamp) else {
                return .ignored("Messenger event with an impossible timestamp")
            }
            sentAt = date
        }
        if let message = event.message {
            if message.isEcho == true {
                // Our own page's sends, echoed back: already stored as outbound.
                return .ignored("Messenger echo of a page message")
            }
            guard let mid = message.mid else { return .ignored("Messenger message without a mid") }
            var content = Content(text: message.text)
            if let reply = message.quickReply {
                content.postback = .init(title: message.text, payload: reply.payload)
            }
            // Since 2026-06-01 a sticker comes as a `sticker` attachment and, until 2026-08-30, also
            // as the old `image` one (Meta's changelog): it is kept once, as an image named "sticker".
            let attachments = message.attachments ?? []
            let hasStickerAttachment = attachments.contains { $0.type == "sticker" }
            for attachment in attachments {
                // A URL the console or a widget would render must be http(s) with a host: a
                // signed event is still input (docs/security.md).
                let url = attachment.payload?.url.flatMap { ExternalURL.isAcceptable($0, allowHTTP: true) ? $0 : nil }
                let isSticker = attachment.type == "sticker" || attachment.payload?.stickerId != nil
                if attachment.type == "image", isSticker, hasStickerAttachment { continue }
                switch attachment.type {
                case _ where isSticker && (attachment.type == "sticker" || attachment.type == "image"):
                    guard let url else { continue }
                    content.attachments.append(.init(kind: .image, url: url, name: "sticker"))
                case "image", "video", "audio", "file":
                    guard let url else { continue }
                    content.attachments.append(.init(kind: Content.Attachment.Kind(rawValue: attachment.type) ?? .file, url: url))
                case "location":
                    if let coordinates = attachment.payload?.coordinates {
                        content.location = .checked(
                            latitude: coordinates.lat, longitude: coordinates.long, label: attachment.title ?? attachment.payload?.title)
                    }
                default:
                    // fallback (shared links), reels, stickers without a URL: nothing we can carry.
                    if let url {
                        content.attachments.append(.init(kind: .file, url: url, name: attachment.payload?.title))
                    }
                }
            }
            if content.isEmpty { return .ignored("Messenger message with nothing the gateway can carry") }
            return .message(InboundMessage(
                channel: .messenger, senderAddress: sender, recipientAddress: event.recipient?.id, providerMessageId: mid,
                content: content, sentAt: sentAt))
        }
        if let postback = event.postback, let payload = postback.payload {
            // Postbacks before 2020 carried no mid; sender and timestamp identify them then.
            let id = postback.mid ?? "postback:\(sender):\(sentAt.map(Timestamp.millis) ?? 0)"
            return .message(InboundMessage(
                channel: .messenger, senderAddress: sender, recipientAddress: event.recipient?.id, providerMessageId: id,
                content: Content(text: postback.title, postback: .init(title: postback.title, payload: payload)), sentAt: sentAt))
        }
        if let delivery = event.delivery {
            guard let upTo = Timestamp.providerDate(millis: delivery.watermark) else {
                return .ignored("Messenger delivery with an impossible watermark")
            }
            return .watermark(Watermark(
                channel: .messenger, senderAddress: sender, status: .delivered, upTo: upTo, providerMessageIds: delivery.mids ?? []))
        }
        if let read = event.read {
            guard let upTo = Timestamp.providerDate(millis: read.watermark) else {
                return .ignored("Messenger read with an impossible watermark")
            }
            return .watermark(Watermark(channel: .messenger, senderAddress: sender, status: .read, upTo: upTo))
        }
        if let reaction = event.reaction {
            guard let mid = reaction.mid, !mid.isEmpty else { return .ignored("Messenger reaction without the message it is on") }
            switch reaction.action {
            case "react":
                // Meta sends one emoji; anything long is not one and is not kept.
                let emoji = reaction.emoji.flatMap { $0.count <= Message.Reaction.maxLength ? $0 : nil }
                let name = reaction.reaction.flatMap { $0.count <= Message.Reaction.maxLength ? $0 : nil }
                guard emoji != nil || name != nil else { return .ignored("Messenger reaction without an emoji") }
                return .reaction(ReactionUpdate(
                    channel: .messenger, senderAddress: sender, providerMessageId: mid, emoji: emoji, name: name, at: sentAt))
            case "unreact":
                return .reaction(ReactionUpdate(
                    channel: .messenger, senderAddress: sender, providerMessageId: mid, emoji: nil, name: nil, at: sentAt))
            default:
                return .ignored("Messenger reaction with an unknown action")
            }
        }
        return .ignored("Messenger event of a kind the gateway does not handle")
    }

    static func describe(_ error: any Error) -> String {
        guard let error = error as? DecodingError else { return "invalid JSON" }
        switch error {
        case .keyNotFound(let key, let context):
            return "missing \((context.codingPath + [key]).map(\.stringValue).joined(separator: "."))"
        case .typeMismatch(_, let context), .valueNotFound(_, let context):
            return "wrong type at \(context.codingPath.map(\.stringValue).joined(separator: "."))"
        case .dataCorrupted:
            return "invalid JSON"
        @unknown default:
            return "invalid JSON"
        }
    }

    // MARK: Outbound

    /// Meta's limits: 13 quick replies, titles of 20 characters, text of 2000 characters.
    public static let maxQuickReplies = 13
    public static let maxQuickReplyTitle = 20
    public static let maxText = 2000

    /// Content without cards or buttons as one text: the text, each attachment's link after it
    /// (Messenger sends one attachment a message), and a place as its label and a maps link (a
    /// page cannot send a location message).
    static func plainText(_ content: Content) -> String {
        let place = content.location.map(RichContentText.lines(for:)) ?? []
        return ([content.text ?? ""] + content.attachments.map(\.url) + place).filter { !$0.isEmpty }.joined(separator: "\n")
    }

    /// Whether plain content goes as one `attachment` message: a lone attachment with nothing else.
    static func sendsAttachmentAlone(_ content: Content) -> Bool {
        content.attachments.count == 1 && (content.text ?? "").isEmpty && content.quickReplies.isEmpty && content.location == nil
    }

    public func render(_ envelope: OutboundEnvelope) throws(MessageError) -> ProviderRequest {
        let content = envelope.content
        let text = content.text ?? ""
        if text.count > Self.maxText {
            throw MessageError(code: "content_too_long", message: "Messenger text is limited to \(Self.maxText) characters")
        }
        var message: [String: Any] = [:]
        var quickReplies = content.quickReplies
        if let problem = contentProblem(content) { throw problem }
        if content.isRich {
            switch Self.richMessage(content) {
            case .success(let rich):
                message = rich.message
                quickReplies += rich.quickReplies
            case .failure(let error):
                throw error
            }
        } else if Self.sendsAttachmentAlone(content), let attachment = content.attachments.first {
            message["attachment"] = ["type": attachment.kind.rawValue, "payload": ["url": attachment.url, "is_reusable": true]]
        } else {
            let body = Self.plainText(content)
            if body.isEmpty {
                throw MessageError(code: "empty_content", message: "Messenger needs text or an attachment to send")
            }
            if body.count > Self.maxText {
                throw MessageError(
                    code: "content_too_long",
                    message: "Messenger text is limited to \(Self.maxText) characters; with the links this one has \(body.count)")
            }
            message["text"] = body
        }
        if !quickReplies.isEmpty {
            message["quick_replies"] = quickReplies.map(Self.quickReply)  // at most 13: contentProblem
        }
        var body: [String: Any] = ["recipient": ["id": envelope.recipientAddress], "messaging_type": "RESPONSE", "message": message]
        if let tag = envelope.messengerTag {
            // Outside the 24-hour window (https://developers.facebook.com/docs/messenger-platform/send-messages/message-tags).
            body["messaging_type"] = "MESSAGE_TAG"
            body["tag"] = tag
        }
        let data = (try? JSONSerialization.data(withJSONObject: body, options: [.sortedKeys])) ?? Data()
        return ProviderRequest(
            method: "POST", url: settings.sendURL + "?access_token=" + FormURLEncoding.escape(settings.pageAccessToken),
            headers: [ProviderHeader("Content-Type", "application/json")], body: Array(data))
    }

    public func interpret(_ response: ProviderResponse) -> SendOutcome {
        struct Answer: Decodable {
            struct Failure: Decodable {
                var message: String?
                var code: Int?
                var errorSubcode: Int?
                enum CodingKeys: String, CodingKey { case message, code, errorSubcode = "error_subcode" }
            }
            var messageId: String?
            var error: Failure?
            enum CodingKeys: String, CodingKey { case messageId = "message_id", error }
        }
        let answer = try? JSONDecoder().decode(Answer.self, from: Data(response.body))
        if (200...299).contains(response.status), let id = answer?.messageId {
            return .accepted(providerMessageId: id, status: .sent)
        }
        let code = answer?.error?.code
        let error = MessageError(
            code: code.map { "messenger_\($0)" } ?? "messenger_http_\(response.status)",
            message: answer?.error?.message ?? "Messenger answered HTTP \(response.status)")
        // https://developers.facebook.com/docs/messenger-platform/error-codes: 2 (temporary), 4 and
        // 613 (rate limits) are worth retrying; so are 429 and 5xx.
        if response.status == 429 || response.status >= 500 || code == 2 || code == 4 || code == 613 {
            return .retry(error, retryAfterSeconds: response.header("Retry-After").flatMap(Double.init))
        }
        return .failed(error, unsubscribed: false)
    }
}

/// Messenger's attachment URLs point at Meta's CDN and expire (lookaside.fbsbx.com, *.fbcdn.net):
/// fetched without credentials.
extension MessengerAdapter: InboundMediaSource {
    public var configuredAPIHosts: [String] { Self.apiHost(settings.apiBaseURL) }

    public var mediaHosts: [String] {
        Self.apiHost(settings.apiBaseURL) + [".fbcdn.net", ".fbsbx.com", ".facebook.com", ".fbcdn.com"]
    }
}
