import CurlHTTPClient
import Foundation
import SwitchboardCore
import TwilioSMSAdapter

/// Sends correctly signed inbound webhooks to a gateway, as the providers would.
public struct InboundWebhookSender: Sendable {
    /// Where the gateway listens (`http://127.0.0.1:8080`).
    public var gatewayURL: String
    /// The base URL the gateway believes providers call (its `SWITCHBOARD_PUBLIC_URL`); signatures cover it.
    public var publicURL: String
    public var twilioAccountSid: String
    public var twilioAuthToken: String
    /// Our number, the `To` of inbound SMS.
    public var twilioNumber: String
    let client: CurlHTTPClient

    public init(
        gatewayURL: String, publicURL: String? = nil, twilioAccountSid: String, twilioAuthToken: String, twilioNumber: String,
        client: CurlHTTPClient
    ) {
        self.gatewayURL = Self.trimmed(gatewayURL)
        self.publicURL = Self.trimmed(publicURL ?? gatewayURL)
        self.twilioAccountSid = twilioAccountSid
        self.twilioAuthToken = twilioAuthToken
        self.twilioNumber = twilioNumber
        self.client = client
    }

    /// What the gateway answered.
    public struct Delivery: Sendable {
        public var status: Int
        public var body: String
        /// The provider message id the webhook carried.
        public var providerMessageId: String
    }

    /// An inbound SMS/MMS webhook with Twilio's parameters
    /// (https://www.twilio.com/docs/messaging/guides/webhook-request), signed with the auth token.
    public func twilioSMSForm(
        from: String, text: String?, mediaURLs: [(url: String, mimeType: String)] = [], messageSid: String? = nil
    ) -> [(String, String)] {
        let sid = messageSid ?? ("SM" + TwilioMessagesFake.hex(count: 32))
        var form: [(String, String)] = [
            ("ToCountry", "US"), ("ToState", "CA"), ("SmsMessageSid", sid), ("NumMedia", "\(mediaURLs.count)"),
            ("ToCity", ""), ("FromZip", ""), ("SmsSid", sid), ("FromState", ""), ("SmsStatus", "received"),
            ("FromCity", ""), ("Body", text ?? ""), ("FromCountry", "US"), ("To", twilioNumber),
            ("ToZip", ""), ("NumSegments", "1"), ("MessageSid", sid), ("AccountSid", twilioAccountSid),
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
        let signer = TwilioSignature(authToken: twilioAuthToken)
        let computed = signer.compute(url: publicURL + path, parameters: form)
        let response = try await client.execute(HTTPClientRequest(
            method: "POST", url: gatewayURL + path,
            headers: [
                (name: "Content-Type", value: "application/x-www-form-urlencoded"),
                (name: "X-Twilio-Signature", value: signature ?? computed),
                (name: "User-Agent", value: "TwilioProxy/1.1"),
            ],
            body: Array(FormURLEncoding.encode(form).utf8)))
        let sid = form.first { $0.0 == "MessageSid" }?.1 ?? ""
        return Delivery(status: response.status, body: String(decoding: response.body, as: UTF8.self), providerMessageId: sid)
    }

    /// Sends an inbound SMS from `from` saying `text`.
    public func sendSMS(from: String, text: String, messageSid: String? = nil) async throws -> Delivery {
        try await postTwilio(form: twilioSMSForm(from: from, text: text, messageSid: messageSid))
    }

    static func trimmed(_ url: String) -> String {
        var url = url
        while url.hasSuffix("/") { url.removeLast() }
        return url
    }
}
