import Foundation
import SwitchboardCore

/// Google RCS Business Messaging: the webhook (handshake, signed Pub/Sub pushes) and agentMessages.
public struct RBMAdapter: InboundChannelAdapter, OutboundChannelAdapter, WebhookHandshake {
    public let channel = Channel.rcs
    public let settings: RBMSettings

    /// The agent's webhook: the setup handshake and the Pub/Sub pushes both `POST` here.
    public static let webhookPath = "webhooks/rbm"
    public static let webhookEndpoints = [WebhookEndpoint("POST", webhookPath)]

    /// Suggestion chips per message and characters per chip text (RBM's documented limits, as
    /// collected in shared/research/providers.md §3.4).
    public static let maxSuggestions = 11
    /// Suggestions on one rich card (AWS End User Messaging's published RCS limits, as collected
    /// in shared/research/production-notes.md; the same in RichContentRules.maxCardActions).
    public static let maxCardSuggestions = RichContentRules.maxCardActions
    /// A suggestion's `postbackData` (SuggestedReply: "maximum 2048 characters").
    public static let maxPostbackData = 2048
    public static let maxSuggestionText = 25
    public static let maxText = 3072

    public init(settings: RBMSettings) {
        self.settings = settings
    }

    public var acknowledgement: WebhookAcknowledgement {
        WebhookAcknowledgement(contentType: "application/json", body: "{}")
    }

    // MARK: Handshake

    /// The setup handshake `{"clientToken", "secret"}`: the secret to answer with when the client token
    /// matches; nil when the body is not a handshake.
    public func handshakeSecret(_ request: WebhookRequest) throws(WebhookError) -> String? {
        let envelope = try Self.envelope(request)
        // A push carries message.data; a body with clientToken and secret and no data is the handshake.
        guard envelope.message?.data == nil, let token = envelope.clientToken, let secret = envelope.secret else { return nil }
        guard HMACSignature.constantTimeEquals(Array(token.utf8), Array(settings.clientToken.utf8)) else {
            throw .badSignature("clientToken does not match RBM_CLIENT_TOKEN")
        }
        return secret
    }

    public func handshakeAnswer(_ request: WebhookRequest) throws(WebhookError) -> String? {
        try handshakeSecret(request)
    }

    // MARK: Events

    public func verify(_ request: WebhookRequest) throws(WebhookError) {
        _ = try verifiedPayload(request)
    }

    public func decode(_ request: WebhookRequest) throws(WebhookError) -> [InboundEvent] {
        try Self.events(from: try Self.payload(Self.data(Self.envelope(request))))
    }

    public func verifiedEvents(_ request: WebhookRequest) throws(WebhookError) -> [InboundEvent] {
        try Self.events(from: try verifiedPayload(request))
    }

    /// `X-Goog-Signature` is base64(HMAC-SHA512(clientToken, base64-decoded message.data)): the
    /// decoded bytes, not the HTTP body (Google's Node sample on the webhooks guide).
    func verifiedPayload(_ request: WebhookRequest) throws(WebhookError) -> RBMUserPayload {
        // An unsigned request is refused before its JSON is parsed: its work stays small.
        guard let header = request.header("X-Goog-Signature"), !header.isEmpty else {
            throw .badSignature("the X-Goog-Signature header is missing")
        }
        let data = try Self.data(try Self.envelope(request))
        let expected = HMACSignature.sha512Base64(key: settings.clientToken, message: data)
        guard HMACSignature.constantTimeEquals(Array(header.utf8), Array(expected.utf8)) else {
            throw .badSignature("the X-Goog-Signature header does not match message.data")
        }
        return try Self.payload(data)
    }

    static func envelope(_ request: WebhookRequest) throws(WebhookError) -> RBMEnvelope {
        guard request.mediaType == "application/json" else {
            throw .unsupportedMediaType("RBM webhooks are application/json")
        }
        do {
            return try JSONDecoder().decode(RBMEnvelope.self, from: Data(request.body))
        } catch {
            throw .malformed("the body is not an RBM webhook")
        }
    }

    static func data(_ envelope: RBMEnvelope) throws(WebhookError) -> [UInt8] {
        guard let encoded = envelope.message?.data else {
            throw .invalid("message.data is missing")
        }
        guard let data = Data(base64Encoded: encoded) else {
            throw .malformed("message.data is not base64")
        }
        return Array(data)
    }

    static func payload(_ data: [UInt8]) throws(WebhookError) -> RBMUserPayload {
        do {
            return try JSONDecoder().decode(RBMUserPayload.self, from: Data(data))
        } catch {
            throw .malformed("message.data is not a UserMessage or UserEvent")
        }
    }

    static func events(from payload: RBMUserPayload) throws(WebhookError) -> [InboundEvent] {
        guard let sender = payload.senderPhoneNumber else {
            throw .invalid("senderPhoneNumber is missing")
        }
        let phone = PhoneNumber.e164(sender) ?? sender
        if let eventType = payload.eventType {
            switch eventType {
            case "DELIVERED", "READ":
                guard let messageId = payload.messageId else { return [.ignored("RBM \(eventType) without a messageId")] }
                return [.statusUpdate(StatusUpdate(
                    channel: .rcs, providerMessageId: messageId, status: eventType == "READ" ? .read : .delivered))]
            case "IS_TYPING":
                return [.typing(channel: .rcs, senderAddress: phone)]
            default:
                return [.ignored("RBM event \(eventType)")]
            }
        }
        guard let messageId = payload.messageId else {
            throw .invalid("messageId is missing")
        }
        var content = Content(text: payload.text)
        if let response = payload.suggestionResponse, let data = response.postbackData {
            content.text = response.text
            content.postback = .init(title: response.text, payload: data)
        }
        if let location = payload.location {
            content.location = .checked(latitude: location.latitude, longitude: location.longitude)
        }
        // Google's file URIs are https; anything else is not rendered in a console or widget.
        if let file = payload.userFile?.payload, let uri = file.fileUri, ExternalURL.isAcceptable(uri, allowHTTP: false) {
            content.attachments.append(.init(
                kind: Content.Attachment.kind(forMimeType: file.mimeType), url: uri, mimeType: file.mimeType, name: file.fileName))
        }
        if content.isEmpty { return [.ignored("RBM message with nothing the gateway can carry")] }
        return [.message(InboundMessage(
            channel: .rcs, senderAddress: phone, recipientAddress: payload.agentId, providerMessageId: messageId,
            content: content, sentAt: payload.sendTime.flatMap(Timestamp.date(from:))))]
    }

    // MARK: Outbound

    /// `POST /v1/phones/{phone}/agentMessages?messageId={our id}&agentId=…`: our message id is RBM's
    /// messageId, so a retried call is recognized and DELIVERED/READ events name our message.
    public func render(_ envelope: OutboundEnvelope) throws(MessageError) -> ProviderRequest {
        // E.164 is `+` and digits, which stand in a path as they are (RBM's own examples write them so).
        guard PhoneNumber.e164(envelope.recipientAddress) == envelope.recipientAddress else {
            throw MessageError(code: "invalid_recipient", message: "RCS needs an E.164 phone number")
        }
        let message = try Self.contentMessage(envelope.content, features: envelope.rcsFeatures ?? Self.basicFeatures)
        let data = (try? JSONSerialization.data(withJSONObject: ["contentMessage": message], options: [.sortedKeys])) ?? Data()
        let url = settings.base + "/v1/phones/" + envelope.recipientAddress + "/agentMessages?messageId="
            + FormURLEncoding.escape(envelope.messageId) + "&agentId=" + FormURLEncoding.escape(settings.agentId)
        return ProviderRequest(
            method: "POST", url: url,
            headers: settings.staticAuthorization + [ProviderHeader("Content-Type", "application/json")],
            body: Array(data))
    }

    /// What a phone of unknown features is assumed to show: text, reply chips and files.
    public static let basicFeatures: Set<String> = []

    /// The `contentMessage` for `content` on a phone with `features`, degrading as docs/outbound.md
    /// lays out: several attachments → carousel → one standalone card (the rest as links) → text
    /// with links; URL and phone quick replies → open-URL/dial actions → plain reply chips.
    public static func contentMessage(_ content: Content, features: Set<String>) throws(MessageError) -> [String: Any] {
        if content.isRich { return try richContentMessage(content, features: features) }
        if let problem = quickReplyProblem(content.quickReplies) { throw problem }
        var text = content.text ?? ""
        if text.count > maxText {
            throw MessageError(code: "content_too_long", message: "RCS text is limited to \(maxText) characters")
        }
        if let location = content.location {
            // RBM has no location message for an agent to send: the place goes as a map link.
            text = ([text] + RichContentText.lines(for: location)).filter { !$0.isEmpty }.joined(separator: "\n")
        }
        let suggestions = content.quickReplies.map { suggestion($0, features: features) }
        var message: [String: Any] = [:]
        let attachments = content.attachments
        let rest = attachments.dropFirst().map(\.url)
        let standaloneDescription = ([text] + rest).filter { !$0.isEmpty }.joined(separator: "\n")
        if (2...RichContentRules.maxCards).contains(attachments.count), features.contains("RICHCARD_CAROUSEL"),
           text.count <= RichContentRules.maxCardDescription {
            // A message holds one of text, file or card: the text becomes the first card's description.
            message["richCard"] = ["carouselCard": [
                "cardWidth": "MEDIUM",
                "cardContents": attachments.enumerated().map { index, attachment in
                    card(attachment, description: index == 0 && !text.isEmpty ? text : nil, suggestions: [])
                },
            ]]
        } else if let first = attachments.first, features.contains("RICHCARD_STANDALONE"),
                  standaloneDescription.count <= RichContentRules.maxCardDescription {
            // The replies sit on the card while it holds them (4), else as chips under it.
            let onCard = suggestions.count <= maxCardSuggestions
            message["richCard"] = ["standaloneCard": [
                "cardOrientation": "VERTICAL",
                "cardContent": card(
                    first, description: standaloneDescription.isEmpty ? nil : standaloneDescription, suggestions: onCard ? suggestions : []),
            ]]
            if !onCard { message["suggestions"] = suggestions }
            return message
        } else if attachments.count == 1, text.isEmpty {
            message["contentInfo"] = ["fileUrl": attachments[0].url, "forceRefresh": false]
        } else if !attachments.isEmpty {
            // No card for them (or the text is longer than a card's description): links after the text.
            text = ([text] + attachments.map(\.url)).filter { !$0.isEmpty }.joined(separator: "\n")
        }
        if message["richCard"] == nil, message["contentInfo"] == nil {
            guard !text.isEmpty else {
                throw MessageError(code: "empty_content", message: "RCS needs text, a file or a card to send")
            }
            if text.count > maxText {
                throw MessageError(
                    code: "content_too_long",
                    message: "RCS text is limited to \(maxText) characters; with the attachments' links and the place this one has \(text.count)")
            }
            message["text"] = text
        }
        if !suggestions.isEmpty { message["suggestions"] = suggestions }
        return message
    }

    /// What of content without cards or actions RCS cannot carry: its quick replies, or the text
    /// that the attachments' links and the place push past the limit on a phone without cards
    /// (with cards the same text is the fallback). Text alone is `OutboundPolicy`'s to check.
    static func plainContentProblem(_ content: Content) -> MessageError? {
        if let problem = quickReplyProblem(content.quickReplies) { return problem }
        guard !content.attachments.isEmpty || content.location != nil else { return nil }
        do throws(MessageError) {
            _ = try contentMessage(content, features: basicFeatures)
        } catch {
            return error
        }
        return nil
    }

    /// Why RCS cannot carry these quick replies as chips: more than a message holds, or a payload
    /// longer than `postbackData` takes. Nothing is cut short: the API refuses with 422.
    static func quickReplyProblem(_ replies: [Content.QuickReply]) -> MessageError? {
        if replies.count > maxSuggestions {
            return MessageError(
                code: "not_supported_on_channel",
                message: "rcs: at most \(maxSuggestions) quick replies on a message; this one has \(replies.count)")
        }
        if let index = replies.firstIndex(where: { $0.payload.count > maxPostbackData }) {
            return MessageError(
                code: "invalid_quick_reply", message: "rcs: quickReplies[\(index)].payload: at most \(maxPostbackData) characters")
        }
        return nil
    }

    /// Cards and actions: one card as a standalone rich card (`RICHCARD_STANDALONE`), 2 to 10 as
    /// a carousel (`RICHCARD_CAROUSEL`), each action as a suggested action the phone supports (else
    /// a line of text); without the card feature, text with links and the replies as chips. The
    /// message's text rides in the first card's description: an RBM message holds text or a card.
    static func richContentMessage(_ content: Content, features: Set<String>) throws(MessageError) -> [String: Any] {
        let cards = content.cards
        let asCards = cards.count == 1 ? features.contains("RICHCARD_STANDALONE")
            : cards.count > 1 && features.contains("RICHCARD_CAROUSEL")
        var message: [String: Any] = [:]
        var messageSuggestions = content.quickReplies.map { suggestion($0, features: features) }
        var extraLines: [String] = []
        for action in content.actions {
            if case .reply(let title, let payload) = action {
                messageSuggestions.append(suggestion(Content.QuickReply(title: title, payload: payload), features: features))
            } else if let chip = suggestion(action, features: features) {
                messageSuggestions.append(chip)
            } else if let line = RichContentText.line(for: action) {
                extraLines.append(line)
            }
        }
        if asCards {
            let text = content.text ?? ""
            let contents = cards.enumerated().map { index, card in
                cardContent(card, features: features, leadingText: index == 0 && !text.isEmpty ? text : nil,
                            trailingLines: index == cards.count - 1 ? extraLines : [])
            }
            if cards.count == 1 {
                message["richCard"] = ["standaloneCard": ["cardOrientation": "VERTICAL", "cardContent": contents[0]]]
            } else {
                message["richCard"] = ["carouselCard": ["cardWidth": "MEDIUM", "cardContents": contents]]
            }
        } else {
            // Text with links; every reply (the cards' too) as a chip where chips remain.
            var degraded = content
            degraded.quickReplies = []
            degraded.cards = cards.map { card in
                var card = card
                card.actions = card.actions.filter { if case .reply = $0 { false } else { true } }
                return card
            }
            degraded.actions = content.actions.filter { action in
                if case .reply = action { return false }
                return suggestion(action, features: features) == nil
            }
            for case .reply(let title, let payload) in cards.flatMap(\.actions) {
                messageSuggestions.append(suggestion(Content.QuickReply(title: title, payload: payload), features: features))
            }
            let text = RichContentText.text(degraded)
            guard !text.isEmpty else { throw MessageError(code: "empty_content", message: "RCS needs text, a file or a card to send") }
            if text.count > maxText {
                throw MessageError(code: "content_too_long", message: "RCS text is limited to \(maxText) characters; the cards as text have \(text.count)")
            }
            message["text"] = text
        }
        if messageSuggestions.count > maxSuggestions {
            throw MessageError(
                code: "invalid_action", message: "RCS carries at most \(maxSuggestions) suggestions on a message; this one has \(messageSuggestions.count)")
        }
        if !messageSuggestions.isEmpty { message["suggestions"] = messageSuggestions }
        return message
    }

    /// Every RBM feature that changes how content renders.
    static let richFeatures: Set<String> = [
        "RICHCARD_STANDALONE", "RICHCARD_CAROUSEL", "ACTION_CREATE_CALENDAR_EVENT", "ACTION_DIAL", "ACTION_OPEN_URL",
        "ACTION_SHARE_LOCATION", "ACTION_VIEW_LOCATION",
    ]

    /// What RCS cannot carry on any phone: more quick replies or suggestions than a message holds,
    /// a payload longer than `postbackData` takes, or text (with the attachments' links, or the
    /// cards as text) past the text limit on a phone without cards.
    public func contentProblem(_ content: Content) -> MessageError? {
        // Also checked at send time for every message: plain text renders nothing here.
        guard content.isRich else { return Self.plainContentProblem(content) }
        for features in [Self.richFeatures, Self.basicFeatures] {
            do throws(MessageError) {
                _ = try Self.richContentMessage(content, features: features)
            } catch {
                return error
            }
        }
        return nil
    }

    /// A `CardContent`: title, description, media, and the card's actions as suggestions.
    static func cardContent(_ card: Content.Card, features: Set<String>, leadingText: String?, trailingLines: [String]) -> [String: Any] {
        var result: [String: Any] = [:]
        if let title = card.title, !title.isEmpty { result["title"] = title }
        var suggestions: [[String: Any]] = []
        var lines: [String] = []
        for action in card.actions {
            if case .reply(let title, let payload) = action {
                suggestions.append(suggestion(Content.QuickReply(title: title, payload: payload), features: features))
            } else if let chip = suggestion(action, features: features) {
                suggestions.append(chip)
            } else if let line = RichContentText.line(for: action) {
                lines.append(line)
            }
        }
        let description = ([leadingText, card.description].compactMap { $0 }.filter { !$0.isEmpty } + lines + trailingLines)
            .joined(separator: "\n")
        if !description.isEmpty { result["description"] = String(description.prefix(2000)) }
        if let media = card.media {
            result["media"] = [
                "height": (media.height ?? .medium).rawValue.uppercased(),
                "contentInfo": ["fileUrl": media.url, "forceRefresh": false],
            ]
        }
        if !suggestions.isEmpty { result["suggestions"] = suggestions }
        return result
    }

    /// A suggested action for `action` when the phone supports it (RBM's Feature names); nil for
    /// one it does not, or for a reply (a reply chip is made from a quick reply). The postback data
    /// names the action, so a tap comes back as a postback that says which.
    /// https://developers.google.com/business-communications/rcs-business-messaging/reference/rest/v1/phones.agentMessages#SuggestedAction
    static func suggestion(_ action: Content.Action, features: Set<String>) -> [String: Any]? {
        let (feature, field, value): (String, String, [String: Any])
        switch action {
        case .reply:
            return nil
        case .openUrl(_, let url):
            (feature, field, value) = ("ACTION_OPEN_URL", "openUrlAction", ["url": url])
        case .dial(_, let phone):
            (feature, field, value) = ("ACTION_DIAL", "dialAction", ["phoneNumber": phone])
        case .shareLocation:
            (feature, field, value) = ("ACTION_SHARE_LOCATION", "shareLocationAction", [:])
        case .viewLocation(_, let latitude, let longitude, let label):
            var view: [String: Any] = ["latLong": ["latitude": latitude, "longitude": longitude]]
            if let label { view["label"] = label }
            (feature, field, value) = ("ACTION_VIEW_LOCATION", "viewLocationAction", view)
        case .calendar(_, let start, let end, let eventTitle, let description):
            var event: [String: Any] = ["startTime": start, "endTime": end, "title": eventTitle]
            if let description { event["description"] = description }
            (feature, field, value) = ("ACTION_CREATE_CALENDAR_EVENT", "createCalendarEventAction", event)
        }
        guard features.contains(feature) else { return nil }
        return ["action": ["text": action.title, "postbackData": String("\(action.kind):\(action.title)".prefix(2048)), field: value]]
    }

    static func card(_ attachment: Content.Attachment, description: String?, suggestions: [[String: Any]]) -> [String: Any] {
        var card: [String: Any] = [
            "media": ["height": "MEDIUM", "contentInfo": ["fileUrl": attachment.url, "forceRefresh": false]],
        ]
        if let title = attachment.name, !title.isEmpty { card["title"] = String(title.prefix(200)) }
        if let description { card["description"] = String(description.prefix(2000)) }
        if !suggestions.isEmpty { card["suggestions"] = suggestions }
        return card
    }

    /// A chip: an open-URL action for an `https://` payload, a dial action for `tel:`, when the phone
    /// supports them; else a reply chip that posts the payload back.
    static func suggestion(_ reply: Content.QuickReply, features: Set<String>) -> [String: Any] {
        let text = reply.title.count > maxSuggestionText ? String(reply.title.prefix(maxSuggestionText - 1)) + "…" : reply.title
        let postback = reply.payload  // at most maxPostbackData: longer ones are refused (quickReplyProblem)
        if reply.payload.hasPrefix("https://") || reply.payload.hasPrefix("http://"), features.contains("ACTION_OPEN_URL") {
            return ["action": ["text": text, "postbackData": postback, "openUrlAction": ["url": reply.payload]]]
        }
        if reply.payload.hasPrefix("tel:"), features.contains("ACTION_DIAL") {
            return ["action": ["text": text, "postbackData": postback, "dialAction": ["phoneNumber": String(reply.payload.dropFirst(4))]]]
        }
        return ["reply": ["text": text, "postbackData": postback]]
    }

    // MARK: Capabilities

    /// `GET /v1/phones/{phone}/capabilities?requestId=…&agentId=…`
    /// (https://developers.google.com/business-communications/rcs-business-messaging/reference/rest/v1/phones/getCapabilities).
    public func capabilityRequest(phone: String, requestId: String) -> ProviderRequest {
        ProviderRequest(
            method: "GET",
            url: settings.base + "/v1/phones/" + phone + "/capabilities?requestId=" + FormURLEncoding.escape(requestId)
                + "&agentId=" + FormURLEncoding.escape(settings.agentId),
            headers: settings.staticAuthorization, body: [])
    }

    /// What a capability answer says.
    public enum CapabilityAnswer: Sendable, Equatable {
        case capable(features: [String])
        /// 404: no RCS on the phone, or the agent is not launched on its carrier.
        case notCapable
        case failed(MessageError, transient: Bool)
    }

    public func interpretCapabilities(_ response: ProviderResponse) -> CapabilityAnswer {
        struct Answer: Decodable { var features: [String]? }
        switch response.status {
        case 200...299:
            let features = (try? JSONDecoder().decode(Answer.self, from: Data(response.body)))?.features ?? []
            return .capable(features: features.filter { $0 != "FEATURE_UNSPECIFIED" })
        case 404:
            return .notCapable
        default:
            let error = MessageError(code: "rbm_http_\(response.status)", message: "RBM capability lookup answered HTTP \(response.status)")
            return .failed(error, transient: response.status == 429 || response.status >= 500)
        }
    }

    /// As `interpret(_:)`, knowing the call: a 409 `ALREADY_EXISTS` means RBM already holds a message
    /// with our `messageId` (an earlier attempt whose answer we missed reached it), so the message is
    /// sent, under our id as RBM names it. agentMessages.create: "The RBM platform ignores any agent
    /// message sent with an ID that was used by an earlier message or event sent from the same agent"
    /// (https://developers.google.com/business-communications/rcs-business-messaging/reference/rest/v1/phones.agentMessages/create);
    /// Google APIs answer that with HTTP 409 and status `ALREADY_EXISTS`
    /// (https://cloud.google.com/apis/design/errors#handling_errors).
    public func interpret(_ response: ProviderResponse, for envelope: OutboundEnvelope) -> SendOutcome {
        if response.status == 409, Self.errorStatus(response) == "ALREADY_EXISTS" {
            return .accepted(providerMessageId: envelope.messageId, status: .sent)
        }
        return interpret(response)
    }

    /// The `error.status` of a Google error body, if the answer is one.
    static func errorStatus(_ response: ProviderResponse) -> String? {
        struct Answer: Decodable {
            struct Status: Decodable { var status: String? }
            var error: Status?
        }
        return (try? JSONDecoder().decode(Answer.self, from: Data(response.body)))?.error?.status
    }

    public func interpret(_ response: ProviderResponse) -> SendOutcome {
        struct Answer: Decodable {
            struct Status: Decodable {
                var code: Int?
                var message: String?
                var status: String?
            }
            var name: String?
            var error: Status?
        }
        let answer = try? JSONDecoder().decode(Answer.self, from: Data(response.body))
        if (200...299).contains(response.status) {
            // name = "phones/{phone}/agentMessages/{messageId}"
            guard let id = answer?.name?.split(separator: "/").last.map(String.init) else {
                return .retry(MessageError(code: "rbm_bad_response", message: "RBM answered without a message name"), retryAfterSeconds: nil)
            }
            return .accepted(providerMessageId: id, status: .sent)
        }
        let status = answer?.error?.status
        let error = MessageError(
            code: status.map { "rbm_\($0.lowercased())" } ?? "rbm_http_\(response.status)",
            message: answer?.error?.message ?? "RBM answered HTTP \(response.status)")
        if response.status == 429 || response.status >= 500 {
            return .retry(error, retryAfterSeconds: response.header("Retry-After").flatMap(Double.init))
        }
        return .failed(error, unsubscribed: false)
    }
}

/// RBM's `userFile` URIs point at Google's storage and expire: fetched without credentials.
extension RBMAdapter: InboundMediaSource {
    public var configuredAPIHosts: [String] { Self.apiHost(settings.apiBaseURL) }

    public var mediaHosts: [String] {
        Self.apiHost(settings.apiBaseURL) + [".googleusercontent.com", ".googleapis.com", ".gstatic.com"]
    }
}
