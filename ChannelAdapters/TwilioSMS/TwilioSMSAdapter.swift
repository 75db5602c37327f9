import Foundation
import SwitchboardCore

/// Twilio Programmable Messaging (SMS/MMS): inbound webhooks, status callbacks and the Messages API.
///
/// Wire formats: https://www.twilio.com/docs/messaging/guides/webhook-request (inbound parameters),
/// https://www.twilio.com/docs/sms/api/message-resource (send and its JSON answer),
/// https://www.twilio.com/docs/api/errors (error bodies `{code, message, more_info, status}`).
public struct TwilioSMSAdapter: InboundChannelAdapter, OutboundChannelAdapter {
    public let channel = Channel.sms
    public let settings: TwilioSettings
    private let signature: TwilioSignature

    /// Twilio rejects a `Body` over 1600 characters with error 21617.
    public static let maxBodyCharacters = 1600

    /// Where Twilio posts inbound messages (the number's "A message comes in" URL) and status callbacks.
    public static let inboundPath = "webhooks/twilio/sms"
    public static let statusCallbackPath = "webhooks/twilio/status"
    public static let webhookEndpoints = [WebhookEndpoint("POST", inboundPath), WebhookEndpoint("POST", statusCallbackPath)]

    public init(settings: TwilioSettings) {
        self.settings = settings
        self.signature = TwilioSignature(authToken: settings.authToken)
    }

    // MARK: Inbound

    /// Twilio wants TwiML back; an empty `<Response>` sends nothing (replies go through the API).
    public var acknowledgement: WebhookAcknowledgement {
        WebhookAcknowledgement(
            contentType: "text/xml",
            body: #"<?xml version="1.0" encoding="UTF-8"?><Response></Response>"#)
    }

    public func verify(_ request: WebhookRequest) throws(WebhookError) {
        try verify(request, parameters: try Self.formParameters(request))
    }

    /// An inbound message, or a status callback when `MessageStatus` is present (Twilio sends it only
    /// to the `StatusCallback` URL).
    public func decode(_ request: WebhookRequest) throws(WebhookError) -> [InboundEvent] {
        try decode(parameters: try Self.formParameters(request))
    }

    /// Parses the form once for both steps.
    public func verifiedEvents(_ request: WebhookRequest) throws(WebhookError) -> [InboundEvent] {
        // An unsigned request is refused before its form is parsed: its work stays small.
        guard request.mediaType == "application/x-www-form-urlencoded" else {
            throw .unsupportedMediaType("Twilio webhooks are application/x-www-form-urlencoded")
        }
        guard request.header("x-twilio-signature")?.isEmpty == false else {
            throw .badSignature("the X-Twilio-Signature header is missing")
        }
        let parameters = try Self.decodeForm(request.body)
        try verify(request, parameters: parameters)
        return try decode(parameters: parameters)
    }

    func verify(_ request: WebhookRequest, parameters: [(String, String)]) throws(WebhookError) {
        guard let header = request.header("x-twilio-signature"), !header.isEmpty else {
            throw .badSignature("the X-Twilio-Signature header is missing")
        }
        guard signature.isValid(signature: header, url: request.publicURL, parameters: parameters) else {
            throw .badSignature("the X-Twilio-Signature header does not match the request")
        }
    }

    func decode(parameters: [(String, String)]) throws(WebhookError) -> [InboundEvent] {
        let form = Dictionary(parameters, uniquingKeysWith: { first, _ in first })
        guard let sid = form["MessageSid"] ?? form["SmsSid"], !sid.isEmpty else {
            throw .invalid("MessageSid is missing")
        }
        if let status = form["MessageStatus"] {
            return [Self.statusEvent(sid: sid, status: status, form: form)]
        }
        guard let from = form["From"], !from.isEmpty else {
            throw .invalid("From is missing")
        }
        var content = Content()
        if let body = form["Body"], !body.isEmpty {
            content.text = body
        }
        let mediaCount = Int(form["NumMedia"] ?? "0") ?? 0
        for index in 0..<min(max(mediaCount, 0), 10) {
            guard let url = form["MediaUrl\(index)"], ExternalURL.isAcceptable(url, allowHTTP: true) else { continue }
            let mimeType = form["MediaContentType\(index)"]
            content.attachments.append(.init(kind: Content.Attachment.kind(forMimeType: mimeType), url: url, mimeType: mimeType))
        }
        let sender = PhoneNumber.e164(from) ?? from
        return [.message(InboundMessage(
            channel: .sms, senderAddress: sender, recipientAddress: form["To"], providerMessageId: sid,
            content: content))]
    }

    static func statusEvent(sid: String, status: String, form: [String: String]) -> InboundEvent {
        let mapped: MessageStatus
        switch status {
        case "sending": mapped = .sending
        case "sent": mapped = .sent
        case "delivered": mapped = .delivered
        case "read": mapped = .read
        case "undelivered", "failed", "canceled": mapped = .failed
        case "queued", "accepted", "scheduled":
            return .ignored("Twilio status '\(status)' is not past our own 'sent'")
        default:
            return .ignored("Twilio status '\(status)' does not apply to outbound messages")
        }
        var error: MessageError?
        if mapped == .failed {
            let code = form["ErrorCode"].flatMap { $0.isEmpty ? nil : $0 }
            error = MessageError(
                code: code.map { "twilio_\($0)" } ?? "twilio_\(status)",
                message: form["ErrorMessage"] ?? "Twilio reports the message \(status)"
                    + (code.map { " (error \($0))" } ?? ""))
        }
        return .statusUpdate(StatusUpdate(channel: .sms, providerMessageId: sid, status: mapped, error: error))
    }

    static func formParameters(_ request: WebhookRequest) throws(WebhookError) -> [(String, String)] {
        guard request.mediaType == "application/x-www-form-urlencoded" else {
            throw .unsupportedMediaType("Twilio webhooks are application/x-www-form-urlencoded")
        }
        return try decodeForm(request.body)
    }

    /// The form's parameters, in order, once the media type is known to be a form.
    static func decodeForm(_ body: [UInt8]) throws(WebhookError) -> [(String, String)] {
        do {
            return try FormURLEncoding.decode(body)
        } catch {
            throw .malformed("the form body cannot be decoded")
        }
    }

    // MARK: Outbound

    public func render(_ envelope: OutboundEnvelope) throws(MessageError) -> ProviderRequest {
        ProviderRequest(
            method: "POST", url: settings.messagesURL,
            headers: [
                ProviderHeader("Authorization", basicAuthorization),
                ProviderHeader("Content-Type", "application/x-www-form-urlencoded"),
                ProviderHeader("Accept", "application/json"),
            ],
            body: Array(FormURLEncoding.encode(try sendForm(envelope)).utf8))
    }

    /// HTTP Basic with the account SID and auth token, as every call to the 2010 API takes it.
    var basicAuthorization: String {
        "Basic " + Data("\(settings.accountSid):\(settings.authToken)".utf8).base64EncodedString()
    }

    /// The Messages create parameters for `envelope`, in order (the lookup of an earlier send
    /// compares Twilio's list with exactly these).
    func sendForm(_ envelope: OutboundEnvelope) throws(MessageError) -> [(String, String)] {
        var mediaURLs = envelope.content.attachments.map(\.url)
        // Cards go as text; the first card's picture goes as MMS media where the sender sends MMS.
        if settings.mms, let picture = envelope.content.cards.first?.media,
           Content.Attachment.kind(forMimeType: picture.mimeType ?? Self.guessedMimeType(picture.url)) == .image {
            mediaURLs.append(picture.url)
        }
        var text = Self.renderText(envelope.content, carriedMedia: settings.mms ? Set(mediaURLs) : [])
        if !settings.mms, !mediaURLs.isEmpty {
            text = ([text] + mediaURLs).filter { !$0.isEmpty }.joined(separator: "\n")
            mediaURLs = []
        }
        if let location = envelope.content.location {
            text = ([text] + RichContentText.lines(for: location)).filter { !$0.isEmpty }.joined(separator: "\n")
        }
        if text.isEmpty, mediaURLs.isEmpty {
            throw MessageError(code: "empty_content", message: "SMS needs text or media to send")
        }
        if text.count > Self.maxBodyCharacters {
            throw MessageError(
                code: "content_too_long",
                message: "SMS text is limited to \(Self.maxBodyCharacters) characters; this one has \(text.count)")
        }
        var form: [(String, String)] = [("To", envelope.recipientAddress)]
        if let service = settings.messagingServiceSid, !service.isEmpty {
            form.append(("MessagingServiceSid", service))
        } else if let from = settings.from {
            form.append(("From", from))
        }
        if !text.isEmpty { form.append(("Body", text)) }
        for url in mediaURLs { form.append(("MediaUrl", url)) }
        form.append(("StatusCallback", settings.statusCallbackURL))
        return form
    }

    /// The SMS body: the text, cards and actions as lines, then the replies as a numbered list
    /// ("Reply 1 for Yes, 2 for No"); `RichContentText` has the rules.
    public static func renderText(_ content: Content, carriedMedia: Set<String> = []) -> String {
        RichContentText.text(content, carriedMedia: carriedMedia)
    }

    /// Cards and actions go as text: refused when that text passes the body limit.
    public func contentProblem(_ content: Content) -> MessageError? {
        guard content.isRich else { return nil }
        let text = Self.renderText(content)
        guard text.count <= Self.maxBodyCharacters else {
            return MessageError(
                code: "content_too_long",
                message: "SMS carries at most \(Self.maxBodyCharacters) characters; the cards and actions as text have \(text.count)")
        }
        return nil
    }

    /// A media type from a URL's extension, for a card picture given without one.
    static func guessedMimeType(_ url: String) -> String? {
        let path = url.split(separator: "?").first.map(String.init) ?? url
        switch path.split(separator: ".").last.map({ $0.lowercased() }) {
        case "png": return "image/png"
        case "jpg", "jpeg": return "image/jpeg"
        case "gif": return "image/gif"
        case "webp": return "image/webp"
        default: return nil
        }
    }

    public func interpret(_ response: ProviderResponse) -> SendOutcome {
        let body = try? JSONDecoder().decode(TwilioResponseBody.self, from: Data(response.body))
        switch response.status {
        case 200...299:
            guard let sid = body?.sid, !sid.isEmpty else {
                return .retry(
                    MessageError(code: "twilio_bad_response", message: "Twilio answered \(response.status) without a message sid"),
                    retryAfterSeconds: nil)
            }
            if body?.status == "failed" || body?.status == "undelivered" {
                return .failed(Self.error(from: body, status: response.status), unsubscribed: false)
            }
            return .accepted(providerMessageId: sid, status: .sent)
        case 429:
            let retryAfter = response.header("Retry-After").flatMap(Double.init)
            return .retry(Self.error(from: body, status: response.status), retryAfterSeconds: retryAfter)
        case 500...599:
            return .retry(Self.error(from: body, status: response.status), retryAfterSeconds: nil)
        default:
            let error = Self.error(from: body, status: response.status)
            // 21610: "Attempt to send to unsubscribed recipient" (the contact replied STOP).
            return .failed(error, unsubscribed: body?.code == 21610)
        }
    }

    static func error(from body: TwilioResponseBody?, status: Int) -> MessageError {
        if let code = body?.code {
            return MessageError(code: "twilio_\(code)", message: body?.message ?? "Twilio error \(code)")
        }
        return MessageError(code: "twilio_http_\(status)", message: body?.message ?? "Twilio answered HTTP \(status)")
    }
}

/// The fields of Twilio's JSON answers the adapter reads: a Message resource or an error body.
struct TwilioResponseBody: Decodable {
    var sid: String?
    var status: String?
    var code: Int?
    var message: String?

    enum CodingKeys: String, CodingKey { case sid, status, code, message }

    // `status` is the message's state (a string) in a Message resource but the HTTP status (a
    // number) in an error body, so each field is read leniently.
    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        sid = try? c.decode(String.self, forKey: .sid)
        status = try? c.decode(String.self, forKey: .status)
        code = try? c.decode(Int.self, forKey: .code)
        message = try? c.decode(String.self, forKey: .message)
    }
}

/// Twilio's inbound MMS media: `MediaUrlN` names the 2010 API's Media resource, which answers with
/// a redirect to its CDN; with HTTP Basic authentication enabled on media (the account's setting),
/// the API wants the account's credentials (https://www.twilio.com/docs/messaging/api/media-resource).
extension TwilioSMSAdapter: InboundMediaSource {
    public var configuredAPIHosts: [String] { Self.apiHost(settings.apiBaseURL) }

    public var mediaHosts: [String] {
        Self.apiHost(settings.apiBaseURL) + ["api.twilio.com", ".twiliocdn.com", ".twilio.com", ".amazonaws.com"]
    }

    public func mediaRequestHeaders(for url: String) -> [(name: String, value: String)] {
        guard let host = MediaFetchRules.host(of: url), MediaFetchRules.host(host, isIn: Self.apiHost(settings.apiBaseURL) + ["api.twilio.com"])
        else { return [] }
        return [(name: "Authorization", value: basicAuthorization)]
    }
}
