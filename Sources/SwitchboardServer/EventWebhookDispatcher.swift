import CurlHTTPClient
import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import SwitchboardCore
import SwitchboardStorage

/// Event webhooks: takes due deliveries from the store's queue (written by the database with each
/// change), posts `{"type", "timestamp", "data"}` to the subscriber signed per Standard Webhooks,
/// and records what came of it through `EventWebhookRetryPolicy`. A contact's events go one at a
/// time, oldest first (the store's claim sees to it); the `webhook-id` is the delivery's, the same
/// on every attempt, so receivers can drop repeats of an at-least-once delivery.
public final class EventWebhookDispatcher: Service, Sendable {
    struct Target: Sendable {
        var url: String
        var signer: StandardWebhookSigner
    }

    private let store: any MessageStore
    private let client: any HTTPTransport
    private let targets: [String: Target]
    private let settings: GatewayConfiguration.EventWebhookSettings
    private let policy: EventWebhookRetryPolicy
    private let destinations: DestinationResolver
    private let logger: Logger
    private let now: @Sendable () -> Date
    private let wakeups = Wakeups()
    private let inFlight = Mutex(0)
    /// Outcomes waiting to be recorded: the loop records all that have come in one transaction
    /// (one per delivery would compete with ingest for SQLite's writer).
    private let outcomes = Mutex<[(attempt: WebhookAttempt, metadata: Logger.Metadata)]>([])
    /// Per subscriber: failures in a row, and until when no new delivery is claimed for it. A
    /// subscriber that is down is probed by one delivery at a time instead of every contact's.
    private let health = Mutex<[String: SubscriberHealth]>([:])

    struct SubscriberHealth {
        var failuresInARow = 0
        var pausedUntil = Date.distantPast
    }

    /// Nil when no subscriber is configured (then nothing is queued either).
    public init?(
        store: any MessageStore, client: any HTTPTransport, settings: GatewayConfiguration.EventWebhookSettings,
        destinations: DestinationResolver, logger: Logger, now: @escaping @Sendable () -> Date
    ) {
        var targets: [String: Target] = [:]
        for subscriber in settings.subscribers {
            // Configuration validation refuses a secret the signer cannot use.
            guard let signer = try? StandardWebhookSigner(secrets: subscriber.secret) else { continue }
            targets[subscriber.name] = Target(url: subscriber.url, signer: signer)
        }
        guard !targets.isEmpty else { return nil }
        self.targets = targets
        self.store = store
        self.client = client
        self.settings = settings
        self.policy = EventWebhookRetryPolicy(
            schedule: settings.retrySchedule, retryFor: settings.retryForSeconds, maxRetryAfter: settings.maxRetryAfterSeconds)
        self.destinations = destinations
        self.logger = logger
        self.now = now
    }

    /// Checks for due deliveries now rather than at the next tick.
    public func wake() {
        wakeups.wake()
    }

    public func run() async {
        let ticker = wakeups.tick(every: 0.2)
        defer { ticker.cancel() }
        var lastHousekeeping = now()
        let names = Array(targets.keys)
        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { group in
                for await _ in wakeups.stream {
                    await recordOutcomes()
                    let free = settings.concurrency - inFlight.withLock { $0 }
                    let time = now()
                    let open = health.withLock { health in names.filter { (health[$0]?.pausedUntil ?? .distantPast) <= time } }
                    guard free > 0, !open.isEmpty else { continue }
                    let lease = Double(settings.timeoutMilliseconds) / 1000 * 2 + 30
                    let claimed: [WebhookDelivery]
                    do {
                        claimed = try await store.claimWebhookDeliveries(subscribers: open, limit: free, now: time, lease: lease)
                    } catch {
                        logger.warning("event webhooks: cannot claim deliveries", metadata: ["error": "\(error)"])
                        continue
                    }
                    inFlight.withLock { $0 += claimed.count }
                    for delivery in claimed {
                        group.addTask {
                            await self.deliver(delivery)
                            self.inFlight.withLock { $0 -= 1 }
                            self.wakeups.wake()
                        }
                    }
                    if now().timeIntervalSince(lastHousekeeping) > 3_600 {
                        lastHousekeeping = now()
                        await housekeeping()
                    }
                }
            }
        } onGracefulShutdown: { [wakeups] in
            wakeups.finish()
        }
        await recordOutcomes()
    }

    /// Records every outcome that has come in, in one transaction.
    func recordOutcomes() async {
        let batch = outcomes.withLock { pending in
            defer { pending.removeAll() }
            return pending
        }
        guard !batch.isEmpty else { return }
        do {
            let lost = Set(try await store.recordWebhookAttempts(batch.map(\.attempt), at: now()))
            for entry in batch where lost.contains(entry.attempt.delivery.id) {
                logger.warning("event webhook outcome not recorded: the delivery's lease was taken over", metadata: entry.metadata)
            }
        } catch {
            logger.error("event webhook outcomes not recorded; the deliveries are attempted again when their leases end", metadata: [
                "count": "\(batch.count)", "error": "\(error)",
            ])
        }
    }

    /// Notes an attempt's outcome for its subscriber: after three failures in a row, no new
    /// delivery is claimed for it for 1, 2, 4… up to 60 seconds (its own retries are scheduled
    /// anyway); a success ends the pause.
    func noteHealth(of subscriber: String, _ outcome: WebhookAttemptOutcome) {
        let time = now()
        health.withLock { health in
            var entry = health[subscriber] ?? SubscriberHealth()
            switch outcome {
            case .delivered:
                entry = SubscriberHealth()
            case .retry, .failed, .subscriberGone:
                entry.failuresInARow += 1
                if entry.failuresInARow >= 3 {
                    entry.pausedUntil = time.addingTimeInterval(min(60, pow(2, Double(min(entry.failuresInARow - 3, 6)))))
                }
            }
            health[subscriber] = entry
        }
    }

    /// Hourly: names this instance's subscribers again (on PostgreSQL, a subscriber nobody names
    /// for a day is removed), and purges old rows (delivered after 3 days, failed after 30).
    func housekeeping() async {
        do {
            try await store.syncWebhookSubscribers(settings.subscribers.map(\.subscription), at: now())
            let purged = try await store.purgeWebhookDeliveries(
                deliveredBefore: now().addingTimeInterval(-3 * 86_400), failedBefore: now().addingTimeInterval(-30 * 86_400))
            if purged > 0 { logger.info("event webhooks: old deliveries purged", metadata: ["count": "\(purged)"]) }
        } catch {
            logger.warning("event webhooks: housekeeping failed; tried again in an hour", metadata: ["error": "\(error)"])
        }
    }

    func deliver(_ delivery: WebhookDelivery) async {
        var metadata: Logger.Metadata = [
            "delivery_id": "\(delivery.publicId)", "subscriber": "\(delivery.subscriber)", "event": "\(delivery.type.rawValue)",
            "attempt": "\(delivery.attempts)",
        ]
        guard let target = targets[delivery.subscriber] else {
            record(delivery, .failed(error: "no subscriber named \(delivery.subscriber) is configured", statusCode: nil), metadata)
            return
        }
        var statusCode: Int?
        var retryAfter: String?
        var problem = ""
        do {
            let body = try await body(for: delivery)
            var request = HTTPClientRequest(
                method: "POST", url: target.url,
                headers: [(name: "Content-Type", value: "application/json"), (name: "User-Agent", value: "Switchboard-Webhooks/1")]
                    + target.signer.headers(id: delivery.publicId, timestamp: now(), body: body),
                body: body, timeoutMilliseconds: settings.timeoutMilliseconds)
            // Resolved and checked on every attempt: a name may move to a private address later.
            request.pinnedAddresses = try await destinations.pins(for: target.url)
            let response = try await client.execute(request)
            statusCode = response.status
            retryAfter = response.header("Retry-After")
            problem = "the subscriber answered HTTP \(response.status)"
        } catch let error as HTTPClientError {
            problem = "the subscriber did not answer: \(error)"
        } catch let refusal as DestinationResolver.Refusal {
            problem = "the subscriber's URL is refused: \(refusal)"
        } catch {
            problem = "the event could not be read: \(error)"
        }
        let outcome = policy.outcome(
            statusCode: statusCode, retryAfter: retryAfter, problem: problem, attempt: delivery.attempts,
            firstAttemptAt: delivery.firstAttemptAt ?? now(), now: now())
        switch outcome {
        case .delivered: break
        case .retry(let notBefore, _, _):
            metadata["error"] = "\(problem)"
            metadata["next_attempt_at"] = "\(Timestamp.string(from: notBefore))"
            logger.warning("event webhook not delivered, will retry", metadata: metadata)
        case .failed:
            metadata["error"] = "\(problem)"
            logger.error("event webhook given up on", metadata: metadata)
        case .subscriberGone:
            logger.error("event-webhook subscriber answered 410 Gone: disabled until a delivery is retried", metadata: metadata)
        }
        GatewayMetrics.eventWebhook(subscriber: delivery.subscriber, outcome: outcome)
        record(delivery, outcome, metadata)
    }

    /// Queues an outcome for the loop's next `recordOutcomes`.
    func record(_ delivery: WebhookDelivery, _ outcome: WebhookAttemptOutcome, _ metadata: Logger.Metadata) {
        noteHealth(of: delivery.subscriber, outcome)
        outcomes.withLock { $0.append((WebhookAttempt(delivery: delivery, outcome: outcome), metadata)) }
    }

    /// `{"type", "timestamp", "data"}`: data is the message, contact or broadcast as it is now
    /// (for `message.status`, with the status the event reports), or `{"id", "deleted": true}`
    /// when it no longer exists (a contact merged into another).
    func body(for delivery: WebhookDelivery) async throws -> [UInt8] {
        let encoder = GatewayJSON.encoder()
        let data: Data
        switch delivery.type {
        case .messageCreated, .messageStatus, .messageReaction:
            if var message = try await store.message(id: delivery.subjectId) {
                if delivery.type == .messageStatus, let status = delivery.status.flatMap(MessageStatus.init(rawValue:)) {
                    message.status = status
                }
                data = try encoder.encode(message)
            } else {
                data = try encoder.encode(Gone(id: delivery.subjectId))
            }
        case .contactUpdated:
            if let contact = try await store.contact(id: delivery.subjectId) {
                data = try encoder.encode(contact)
            } else {
                data = try encoder.encode(Gone(id: delivery.subjectId))
            }
        case .broadcastCompleted:
            if let broadcast = try await store.broadcast(id: delivery.subjectId) {
                data = try encoder.encode(broadcast)
            } else {
                data = try encoder.encode(Gone(id: delivery.subjectId))
            }
        }
        var body = Array(#"{"type":"#.utf8)
        body += Array(try encoder.encode(delivery.type.rawValue))
        body += Array(#","timestamp":"#.utf8)
        body += Array(try encoder.encode(Timestamp.string(from: delivery.occurredAt)))
        body += Array(#","data":"#.utf8)
        body += Array(data)
        body.append(UInt8(ascii: "}"))
        return body
    }

    struct Gone: Encodable {
        var id: String
        var deleted = true
    }
}
