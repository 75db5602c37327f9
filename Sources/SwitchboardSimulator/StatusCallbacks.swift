import CurlHTTPClient
import Crypto
import Foundation
import Logging
import MessengerAdapter
import RBMAdapter
import Synchronization
import SwitchboardCore
import TwilioSMSAdapter

/// After a fake provider accepted a message, plays what the real one does next: Twilio's status
/// callbacks (`sent`, then `delivered`) to the `StatusCallback` URL, Messenger's `delivery` and
/// `read` events, RBM's DELIVERED and READ user events — each signed as the provider signs it.
public final class StatusCallbacks: Sendable {
    /// Pause before each callback.
    public let delayMilliseconds: Int
    /// This run's callback faults (duplicates, reverse order); a request's fault adds to them.
    public let faults: CallbackFaults
    private let accounts: ProviderAccounts
    private let client: CurlHTTPClient
    private let target = Mutex<InboundWebhookSender?>(nil)
    /// Every callback sent and the gateway's answer (`GET /_simulator/callbacks`).
    public let log = CallbackLog()
    let logger: Logger

    /// Callbacks go nowhere until `connect` names the gateway.
    public init(
        accounts: ProviderAccounts, delayMilliseconds: Int = 200, faults: CallbackFaults = CallbackFaults(), client: CurlHTTPClient,
        logger: Logger
    ) {
        self.accounts = accounts
        self.delayMilliseconds = delayMilliseconds
        self.faults = faults
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
    func twilio(sid: String, form: [(String, String)], faults requestFaults: CallbackFaults? = nil) async {
        let values = Dictionary(form, uniquingKeysWith: { first, _ in first })
        guard let sender, let callback = values["StatusCallback"], let url = URL(string: callback) else { return }
        var signer = sender
        // Twilio signs the callback URL as given: its scheme and authority, then the path.
        signer.publicURL = callback.hasPrefix(sender.publicURL) ? sender.publicURL : String(callback.dropLast(url.path.count))
        let accountSid = accounts[TwilioConfigurationSection.self]?.accountSid ?? ""
        await deliver(provider: "twilio", messageId: sid, ["sent", "delivered"], faults: requestFaults) { status in
            let body: [(String, String)] = [
                ("AccountSid", accountSid), ("ApiVersion", "2010-04-01"), ("From", values["From"] ?? ""),
                ("MessageSid", sid), ("MessageStatus", status), ("SmsSid", sid), ("SmsStatus", status), ("To", values["To"] ?? ""),
            ]
            return signer.twilioWebhook(path: url.path, form: body)
        }
    }

    /// Messenger: a `delivery` event naming the mid, then a `read` watermark.
    func messenger(recipient: String, mid: String, faults requestFaults: CallbackFaults? = nil) async {
        guard let sender else { return }
        let pageId = sender.pageId
        await deliver(provider: "messenger", messageId: mid, ["delivery", "read"], faults: requestFaults) { kind in
            let watermark = Int64(Date().timeIntervalSince1970 * 1000)
            var event: [String: Any] = ["sender": ["id": recipient], "recipient": ["id": pageId], "timestamp": watermark]
            event[kind] = kind == "delivery" ? ["mids": [mid], "watermark": watermark] as [String: Any] : ["watermark": watermark]
            return try sender.messengerWebhook(events: [event])
        }
    }

    /// RBM: DELIVERED then READ user events for our message id.
    func rbm(phone: String, messageId: String, faults requestFaults: CallbackFaults? = nil) async {
        guard let sender else { return }
        let agentId = sender.agentId
        await deliver(provider: "rbm", messageId: messageId, ["DELIVERED", "READ"], faults: requestFaults) { eventType in
            // A duplicate is the same event delivered again: same eventId (Pub/Sub redelivery).
            let payload: [String: Any] = [
                "senderPhoneNumber": phone, "eventType": eventType, "eventId": "\(messageId)-\(eventType)", "messageId": messageId,
                "sendTime": Timestamp.string(from: Date()), "agentId": agentId,
            ]
            return try sender.rbmWebhook(payload: payload)
        }
    }

    /// Posts one callback per step, after the configured pause, in order — or reversed, or each
    /// twice, as this run's and the request's faults say. A callback the gateway refuses or cannot
    /// take is delivered again as its provider would (`RedeliveryPolicy`): the same signed bytes,
    /// as a provider's retry and a Pub/Sub redelivery carry. Every attempt is logged.
    func deliver(
        provider: String, messageId: String, _ steps: [String], faults requestFaults: CallbackFaults?,
        _ prepare: (String) throws -> InboundWebhookSender.SignedWebhook
    ) async {
        guard let sender else { return }
        let faults = self.faults.merged(with: requestFaults)
        let policy = RedeliveryPolicy.of(provider: provider, pauseMilliseconds: delayMilliseconds)
        for step in faults.outOfOrder == true ? steps.reversed() : steps {
            await pause()
            let webhook: InboundWebhookSender.SignedWebhook
            do {
                webhook = try prepare(step)
            } catch {
                logger.warning("status callback not made", metadata: ["provider": "\(provider)", "error": "\(error)"])
                continue
            }
            for _ in 0..<(faults.duplicate == true ? 2 : 1) {
                var attempt = 0
                while true {
                    let answer = await post { try await sender.send(webhook) }
                    await log.append(SentCallback(
                        provider: provider, messageId: messageId, event: step, gatewayStatus: answer, sentAt: Date(),
                        bodySHA256: SHA256.hash(data: webhook.body).map { String(format: "%02x", $0) }.joined()))
                    guard let wait = policy.delayBeforeRetry(after: attempt, status: answer) else { break }
                    attempt += 1
                    // Cancelled (the simulator stops): no further attempts.
                    guard (try? await Task.sleep(nanoseconds: UInt64(max(0, wait)) * 1_000_000)) != nil else { return }
                }
            }
        }
    }

    /// Posts one callback; the gateway's status, or 0 when it could not be reached.
    func post(_ call: () async throws -> InboundWebhookSender.Delivery) async -> Int {
        do {
            let delivery = try await call()
            if !(200...299).contains(delivery.status) {
                logger.warning("status callback refused", metadata: ["status": "\(delivery.status)"])
            }
            return delivery.status
        } catch {
            logger.warning("status callback not delivered", metadata: ["error": "\(error)"])
            return 0
        }
    }
}

/// One status callback the simulator sent.
public struct SentCallback: Codable, Sendable, Equatable {
    /// `twilio`, `messenger` or `rbm`.
    public var provider: String
    /// The provider message id it reports on.
    public var messageId: String
    /// `sent`/`delivered` (Twilio), `delivery`/`read` (Messenger), `DELIVERED`/`READ` (RBM).
    public var event: String
    /// The gateway's answer (0: unreachable).
    public var gatewayStatus: Int
    public var sentAt: Date
    /// SHA-256 of the body sent, in hex: a redelivery repeats the first attempt's bytes.
    public var bodySHA256: String
}

/// The callbacks sent so far, in order.
public actor CallbackLog {
    private var items: [SentCallback] = []

    public init() {}

    func append(_ callback: SentCallback) {
        items.append(callback)
    }

    public func all() -> [SentCallback] {
        items
    }

    public func reset() {
        items.removeAll()
    }
}
