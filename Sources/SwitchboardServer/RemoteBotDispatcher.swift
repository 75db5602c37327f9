import CurlHTTPClient
import Foundation
import Logging
import ServiceLifecycle
import SwitchboardCore
import SwitchboardStorage

/// The external bot: posts each inbound message (with its contact) to the configured URL, signed
/// per Standard Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature`; the id is the
/// message's, the same on every retry), and queues the replies it answers with (docs/flows.md, "An
/// external bot"). The former `X-Switchboard-Signature` is still sent while bots move over.
///
/// The message is stored before any call; a slow or failing bot is retried with backoff and then
/// given up on, with a log line, and the message stays in the trail for agents.
public final class RemoteBotDispatcher: Service, Sendable {
    private let store: any MessageStore
    private let client: any HTTPTransport
    private let settings: GatewayConfiguration.RemoteBotSettings
    private let outbox: OutboxWorker
    private let events: EventBus
    private let logger: Logger
    private let now: @Sendable () -> Date
    private let wakeups = Wakeups()
    private let destinations: DestinationResolver
    /// Nil only when the secret is unusable, which configuration validation refuses at startup.
    private let signer: StandardWebhookSigner?

    public init(
        store: any MessageStore, client: any HTTPTransport, settings: GatewayConfiguration.RemoteBotSettings, outbox: OutboxWorker,
        events: EventBus, destinations: DestinationResolver = DestinationResolver(policy: DestinationPolicy()), logger: Logger,
        now: @escaping @Sendable () -> Date
    ) {
        self.destinations = destinations
        self.signer = try? StandardWebhookSigner(secrets: settings.secret)
        self.store = store
        self.client = client
        self.settings = settings
        self.outbox = outbox
        self.events = events
        self.logger = logger
        self.now = now
    }

    public func wake() {
        wakeups.wake()
    }

    public func run() async {
        let ticker = wakeups.tick(every: 0.25)
        defer { ticker.cancel() }
        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { group in
                for await _ in wakeups.stream {
                    let lease = Double(settings.timeoutMilliseconds) / 1000 * 2 + 30
                    guard let deliveries = try? await store.claimBotDeliveries(limit: 64, now: now(), lease: lease) else { continue }
                    for delivery in deliveries {
                        group.addTask { await self.deliver(delivery) }
                    }
                }
            }
        } onGracefulShutdown: { [wakeups] in
            wakeups.finish()
        }
    }

    /// The body the bot receives.
    struct Payload: Encodable {
        var message: Message
        var contact: Contact
    }

    /// What the bot may answer with (200); 202 or 204 mean "no reply now" (it may reply later
    /// through `POST /api/v1/contacts/{id}/messages` with author kind `bot`).
    struct Answer: Decodable {
        var replies: [Content]?
        var handoff: Bool?
        var attributes: [String: String]?
        var tags: [String]?
    }

    func deliver(_ delivery: BotDelivery) async {
        let attempt = delivery.previousAttempts + 1
        var metadata: Logger.Metadata = ["message_id": "\(delivery.message.id)", "contact_id": "\(delivery.contact.id)", "attempt": "\(attempt)"]
        let problem: String
        do {
            let body = Array(try GatewayJSON.encoder().encode(Payload(message: delivery.message, contact: delivery.contact)))
            guard let signer else {
                await giveUp(delivery, problem: "the bot's secret is not usable (see bot.http.secret)", metadata: metadata)
                return
            }
            var request = HTTPClientRequest(
                method: "POST", url: settings.url,
                headers: [(name: "Content-Type", value: "application/json")]
                    + signer.headers(id: delivery.message.id, timestamp: now(), body: body)
                    + [(name: "X-Switchboard-Signature", value: "sha256=" + HMACSignature.sha256Hex(key: signer.firstSecret, message: body))],
                body: body, timeoutMilliseconds: settings.timeoutMilliseconds)
            // Resolved and checked on every call: a name may move to a private address later.
            request.pinnedAddresses = try await destinations.pins(for: settings.url)
            let response = try await client.execute(request)
            switch response.status {
            case 200:
                guard let answer = try? GatewayJSON.decoder().decode(Answer.self, from: Data(response.body)) else {
                    problem = "the bot answered 200 with a body that is not {replies, handoff, attributes, tags}"
                    break
                }
                var effects: [BotEffect] = []
                for (name, value) in answer.attributes ?? [:] where AttributeName.isValid(name) {
                    effects.append(.setAttribute(name: name, value: String(value.prefix(AttributeName.maxValueLength))))
                }
                for tag in answer.tags ?? [] where TagName.isValid(tag) { effects.append(.addTag(tag)) }
                if answer.handoff == true { effects.append(.handoff(reason: "the bot handed off")) }
                await complete(delivery, turn: BotTurn(replies: answer.replies ?? [], effects: effects), metadata: metadata)
                return
            case 202, 204:
                await complete(delivery, turn: nil, metadata: metadata)
                return
            default:
                problem = "the bot answered HTTP \(response.status)"
                if (400...499).contains(response.status), response.status != 429 {
                    await giveUp(delivery, problem: problem, metadata: metadata)
                    return
                }
            }
        } catch let error as HTTPClientError {
            problem = "the bot did not answer: \(error)"
        } catch let refusal as DestinationResolver.Refusal {
            problem = "the bot's URL is refused: \(refusal)"
        } catch {
            problem = "the message could not be encoded"
        }
        metadata["error"] = "\(problem)"
        if attempt >= settings.maxAttempts {
            await giveUp(delivery, problem: problem, metadata: metadata)
            return
        }
        let delay = min(30, 0.5 * pow(2, Double(attempt - 1))) * Double.random(in: 0.5...1.0)
        logger.warning("external bot failed, will retry", metadata: metadata)
        try? await store.retryBotDelivery(messageId: delivery.message.id, claimId: delivery.claimId, notBefore: now().addingTimeInterval(delay), error: problem)
    }

    func complete(_ delivery: BotDelivery, turn: BotTurn?, metadata: Logger.Metadata) async {
        do {
            let replies = try await store.completeBotDelivery(delivery, turn: turn, at: now())
            for reply in replies { events.publish(.created(reply)) }
            if !replies.isEmpty { outbox.wake() }
        } catch StoreError.leaseLost {
            logger.warning("external bot answer not stored: the delivery's lease was taken over", metadata: metadata)
        } catch {
            var metadata = metadata
            metadata["error"] = "\(error)"
            logger.error("external bot answer not stored; the call will be repeated when the lease ends", metadata: metadata)
        }
    }

    func giveUp(_ delivery: BotDelivery, problem: String, metadata: Logger.Metadata) async {
        var metadata = metadata
        metadata["error"] = "\(problem)"
        logger.error("external bot gave no answer; the message stays for agents", metadata: metadata)
        try? await store.retryBotDelivery(messageId: delivery.message.id, claimId: delivery.claimId, notBefore: nil, error: problem)
    }
}
