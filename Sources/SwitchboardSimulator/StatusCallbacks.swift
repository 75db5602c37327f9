import CurlHTTPClient
import Foundation
import Logging
import Synchronization
import SwitchboardCore
import TwilioSMSAdapter

/// After a fake provider accepted a message, plays what the real one does next: Twilio's status
/// callbacks (`sent`, then `delivered`) to the `StatusCallback` URL, Messenger's `delivery` and
/// `read` events, RBM's DELIVERED and READ user events — each signed as the provider signs it.
public final class StatusCallbacks: Sendable {
    /// Pause before each callback.
    public let delayMilliseconds: Int
    private let accounts: ProviderAccounts
    private let client: CurlHTTPClient
    private let target = Mutex<InboundWebhookSender?>(nil)
    let logger: Logger

    /// Callbacks go nowhere until `connect` names the gateway.
    public init(accounts: ProviderAccounts, delayMilliseconds: Int = 200, client: CurlHTTPClient, logger: Logger) {
        self.accounts = accounts
        self.delayMilliseconds = delayMilliseconds
        self.client = client
        self.logger = logger
    }

    /// Where the gateway listens, and the public URL it believes providers call.
    public func connect(gatewayURL: String, publicURL: String?) {
        let sender = InboundWebhookSender(gatewayURL: gatewayURL, publicURL: publicURL, accounts: accounts, client: client)
        target.withLock { $0 = sender }
    }

    var sender: InboundWebhookSender? { target.withLock { $0 } }

    func pause() async {
        try? await Task.sleep(nanoseconds: UInt64(max(0, delayMilliseconds)) * 1_000_000)
    }

    /// Twilio: `MessageStatus` sent, then delivered, posted to the StatusCallback URL's path and
    /// signed over that URL (https://www.twilio.com/docs/messaging/guides/track-outbound-message-status).
    func twilio(sid: String, form: [(String, String)]) async {
        let values = Dictionary(form, uniquingKeysWith: { first, _ in first })
        guard let sender, let callback = values["StatusCallback"], let url = URL(string: callback) else { return }
        var signer = sender
        // Twilio signs the callback URL as given: its scheme and authority, then the path.
        signer.publicURL = callback.hasPrefix(sender.publicURL) ? sender.publicURL : String(callback.dropLast(url.path.count))
        for status in ["sent", "delivered"] {
            await pause()
            let body: [(String, String)] = [
                ("AccountSid", accounts.twilioAccountSid ?? ""), ("ApiVersion", "2010-04-01"), ("From", values["From"] ?? ""),
                ("MessageSid", sid), ("MessageStatus", status), ("SmsSid", sid), ("SmsStatus", status), ("To", values["To"] ?? ""),
            ]
            await post { try await signer.postTwilio(path: url.path, form: body) }
        }
    }

    /// Messenger: a `delivery` event naming the mid, then a `read` watermark.
    func messenger(recipient: String, mid: String) async {
        guard let sender else { return }
        for kind in ["delivery", "read"] {
            await pause()
            let watermark = Int64(Date().timeIntervalSince1970 * 1000)
            var event: [String: Any] = [
                "sender": ["id": recipient], "recipient": ["id": accounts.messengerPageId ?? "PAGE_ID"], "timestamp": watermark,
            ]
            event[kind] = kind == "delivery" ? ["mids": [mid], "watermark": watermark] as [String: Any] : ["watermark": watermark]
            await post { try await sender.postMessenger(events: [event]) }
        }
    }

    /// RBM: DELIVERED then READ user events for our message id.
    func rbm(phone: String, messageId: String) async {
        guard let sender else { return }
        for eventType in ["DELIVERED", "READ"] {
            await pause()
            let payload: [String: Any] = [
                "senderPhoneNumber": phone, "eventType": eventType, "eventId": UUID().uuidString, "messageId": messageId,
                "sendTime": Timestamp.string(from: Date()), "agentId": accounts.rbmAgentId ?? "agent",
            ]
            await post { try await sender.postRBM(payload: payload) }
        }
    }

    func post(_ call: () async throws -> InboundWebhookSender.Delivery) async {
        do {
            let delivery = try await call()
            if !(200...299).contains(delivery.status) {
                logger.warning("status callback refused", metadata: ["status": "\(delivery.status)"])
            }
        } catch {
            logger.warning("status callback not delivered", metadata: ["error": "\(error)"])
        }
    }
}
