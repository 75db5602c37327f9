import Foundation
import MessengerAdapter
import RBMAdapter
import SwitchboardCore
import SwitchboardServer
import TwilioSMSAdapter

/// Provider webhooks as the routes hand them to adapters: the shape checked first with the default
/// limits (WebhookRoutes), then `verifiedEvents`. Each is also sent correctly signed with made-up
/// credentials, so that the fuzzer reaches the decoding behind the signature, and as the body of a
/// provider's answer to a send (`interpret`) or, for RBM, to a capability lookup.
enum ProviderWebhookFeed {
    static let limits = GatewayConfiguration.Limits()
    static let publicURL = "https://gateway.example.com"

    static let twilioAdapter = TwilioSMSAdapter(settings: TwilioSettings(
        accountSid: "ACfuzz", authToken: "fuzz-twilio-auth-token", from: "+15550000000", messagingServiceSid: nil,
        apiBaseURL: "https://api.twilio.example", statusCallbackURL: publicURL + "/webhooks/twilio/status"))
    static let twilioSignature = TwilioSignature(authToken: "fuzz-twilio-auth-token")

    static let messengerAdapter = MessengerAdapter(settings: MessengerSettings(
        appSecret: "fuzz-messenger-app-secret", verifyToken: "fuzz-verify-token", pageAccessToken: "fuzz-page-token",
        pageId: "1234", apiBaseURL: "https://graph.example", apiVersion: "v21.0"))

    static let rbmAdapter = RBMAdapter(settings: RBMSettings(
        agentId: "fuzz-agent", clientToken: "fuzz-rbm-client-token", accessToken: "fuzz-access-token",
        apiBaseURL: "https://rbm.example"))

    static func twilio(_ bytes: [UInt8]) {
        let url = publicURL + "/webhooks/twilio"
        let contentType = "application/x-www-form-urlencoded"
        // A stranger's request: a signature that cannot match.
        deliver(twilioAdapter, WebhookRequest(
            method: "POST", publicURL: url,
            headers: ["content-type": contentType, "x-twilio-signature": "bm90IGEgcmVhbCBzaWduYXR1cmU="], body: bytes))
        // Twilio's own request: the same form, signed over its decoded parameters.
        if let parameters = try? FormURLEncoding.decode(bytes) {
            deliver(twilioAdapter, WebhookRequest(
                method: "POST", publicURL: url,
                headers: [
                    "content-type": contentType,
                    "x-twilio-signature": twilioSignature.compute(url: url, parameters: parameters),
                ],
                body: bytes))
        }
        _ = try? twilioAdapter.decode(WebhookRequest(
            method: "POST", publicURL: url, headers: ["content-type": contentType], body: bytes))
        interpret(twilioAdapter, bytes)
    }

    static func messenger(_ bytes: [UInt8]) {
        let url = publicURL + "/webhooks/messenger"
        let signature = "sha256=" + HMACSignature.sha256Hex(key: messengerAdapter.settings.appSecret, message: bytes)
        deliver(messengerAdapter, WebhookRequest(
            method: "POST", publicURL: url,
            headers: ["content-type": "application/json", "x-hub-signature-256": signature], body: bytes))
        // The subscription handshake's query, which the route decodes from the URL.
        if let query = try? FormURLEncoding.decode(bytes) {
            _ = try? messengerAdapter.handshake(query: query)
        }
        interpret(messengerAdapter, bytes)
    }

    static func rbm(_ bytes: [UInt8]) {
        let url = publicURL + "/webhooks/rbm"
        // The bytes as the whole envelope: the handshake, then a push whose signature cannot match.
        let raw = WebhookRequest(
            method: "POST", publicURL: url,
            headers: ["content-type": "application/json", "x-goog-signature": "bm90IGEgc2lnbmF0dXJl"], body: bytes)
        if shapeAccepted(raw) {
            _ = try? rbmAdapter.handshakeSecret(raw)
            _ = try? rbmAdapter.verifiedEvents(raw)
        }
        // The bytes as a UserMessage or UserEvent, inside an envelope Google signed.
        let envelope = #"{"message":{"data":""# + Data(bytes).base64EncodedString()
            + #"","messageId":"1","publishTime":"2026-11-30T10:00:00.000Z"},"subscription":"projects/p/subscriptions/s"}"#
        deliver(rbmAdapter, WebhookRequest(
            method: "POST", publicURL: url,
            headers: [
                "content-type": "application/json",
                "x-goog-signature": HMACSignature.sha512Base64(key: rbmAdapter.settings.clientToken, message: bytes),
            ],
            body: Array(envelope.utf8)))
        interpret(rbmAdapter, bytes)
        // The bytes as a capability lookup's answer, whose features then shape every rendering.
        if case .capable(let features) = rbmAdapter.interpretCapabilities(ProviderResponse(status: 200, headers: [], body: bytes)) {
            let content = Content(
                text: "hello",
                attachments: [.init(kind: .image, url: "https://example.com/a.png"), .init(kind: .file, url: "https://example.com/b.pdf")],
                quickReplies: [.init(title: "Site", payload: "https://example.com")])
            _ = try? rbmAdapter.render(OutboundEnvelope(
                messageId: "msg_fuzz", recipientAddress: "+15551230000", content: content, rcsFeatures: Set(features)))
        }
    }

    /// What WebhookRoutes does with a request: the shape check, then verify and decode; the
    /// events are then read as the pipeline and the API would.
    static func deliver(_ adapter: some InboundChannelAdapter, _ request: WebhookRequest) {
        guard shapeAccepted(request), let events = try? adapter.verifiedEvents(request) else { return }
        EventInspection.inspect(events)
    }

    static func shapeAccepted(_ request: WebhookRequest) -> Bool {
        (try? WebhookShape.check(
            request.body, mediaType: request.mediaType, maxFormParameters: limits.maxFormParameters,
            maxJSONDepth: limits.maxJSONDepth)) != nil
    }

    /// The bytes as a provider's answer to a send, at the statuses the adapters tell apart.
    static func interpret(_ adapter: some OutboundChannelAdapter, _ bytes: [UInt8]) {
        for status in [200, 400, 429, 503] {
            _ = adapter.interpret(ProviderResponse(
                status: status, headers: [ProviderHeader("Retry-After", "7"), ProviderHeader("Content-Type", "application/json")],
                body: bytes))
        }
    }
}
