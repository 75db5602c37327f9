import CurlHTTPClient
import Foundation
import Logging
import ServiceLifecycle
import SwitchboardCore
import SwitchboardStorage
import Synchronization

/// Sends what the outbox holds: claims due rows, renders each through its channel's adapter, calls
/// the provider over libcurl, and records the outcome (sent, retry later, or failed).
///
/// Rows are leased when claimed, so a worker that dies mid-send leaves them due again when the lease
/// ends. An attempt whose outcome is unknown (a timeout after the request left, a connection lost
/// before the answer, or a crash before the outcome was recorded) is recorded as such on the row; the
/// next attempt then looks for the message at the provider where it can (Twilio's list) and adopts
/// it, or relies on the provider's idempotency key (RBM's `messageId`). What remains of the
/// at-least-once window per provider is in docs/reliability-providers.md.
public final class OutboxWorker: Service, Sendable {
    private let store: any MessageStore
    private let adapters: [Channel: any OutboundChannelAdapter]
    private let localChannels: [Channel: any LocalChannelDelivery]
    /// Per channel, credentials that change while running (RBM's service-account tokens).
    private let authorizations: [Channel: any ProviderAuthorization]
    private let client: any HTTPTransport
    private let settings: GatewayConfiguration.OutboxSettings
    private let pacer: SendPacer
    private let rcsCapabilities: RCSCapabilityTable?
    private let fallbackToSMS: Bool
    private let allowHumanAgentTag: Bool
    private let logger: Logger
    private let now: @Sendable () -> Date
    private let wakeups = Wakeups()
    private let inFlight = Atomic<Int>(0)
    private let events: EventBus?

    public init(
        store: any MessageStore, adapters: [any OutboundChannelAdapter], localChannels: [any LocalChannelDelivery] = [],
        client: any HTTPTransport, authorizations: [Channel: any ProviderAuthorization] = [:],
        settings: GatewayConfiguration.OutboxSettings, rcsCapabilities: RCSCapabilityTable? = nil, fallbackToSMS: Bool = true,
        allowHumanAgentTag: Bool = false, events: EventBus? = nil, logger: Logger, now: @escaping @Sendable () -> Date = Date.init
    ) {
        self.events = events
        self.store = store
        self.adapters = Dictionary(adapters.map { ($0.channel, $0) }, uniquingKeysWith: { first, _ in first })
        self.localChannels = Dictionary(localChannels.map { ($0.channel, $0) }, uniquingKeysWith: { first, _ in first })
        self.client = client
        self.authorizations = authorizations
        self.settings = settings
        self.pacer = SendPacer(pacing: settings.pacing, now: now())
        self.rcsCapabilities = rcsCapabilities
        self.fallbackToSMS = fallbackToSMS
        self.allowHumanAgentTag = allowHumanAgentTag
        self.logger = logger
        self.now = now
    }

    /// Asks the worker to look for due rows now (after something was queued).
    public func wake() {
        wakeups.wake()
    }

    /// Runs until graceful shutdown; then stops claiming and lets the sends in flight finish.
    public func run() async {
        let ticker = wakeups.tick(every: settings.pollIntervalSeconds)
        defer { ticker.cancel() }
        logger.info("outbox worker started", metadata: ["channels": "\(adapters.keys.map(\.rawValue).sorted())"])
        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { group in
                for await _ in wakeups.stream {
                    await claimAndSend(into: &group)
                }
            }
        } onGracefulShutdown: { [wakeups] in
            wakeups.finish()
        }
        logger.info("outbox worker stopped")
    }

    /// One turn of the worker outside its loop: claims the rows due by the worker's clock and
    /// sends them, returning once every send has recorded its outcome. For tests that drive the
    /// outbox with their own clock and transport (no timers, no sleeps).
    public func sendDue() async {
        await withDiscardingTaskGroup { group in
            await claimAndSend(into: &group)
        }
    }

    private func claimAndSend(into group: inout DiscardingTaskGroup) async {
        while true {
            let busy = inFlight.load(ordering: .relaxed)
            let capacity = settings.concurrency - busy
            guard capacity > 0 else { return }
            // Claim in batches: a claim is a write transaction, and claiming the one row each
            // finished send frees costs more than the send. While sends are in flight (each one
            // wakes the worker when it ends), wait for a quarter of the slots.
            if busy > 0, capacity < max(1, settings.concurrency / 4) { return }
            let limit = min(capacity, 256)
            // Paced channels get only the tokens their buckets hold; the rest wait in the outbox.
            var channelLimits: [Channel: Int] = [:]
            let paused = pacer.pausedChannels(now: now())
            for channel in paused { channelLimits[channel] = 0 }
            for channel in pacer.pacedChannels where !paused.contains(channel) {
                channelLimits[channel] = pacer.take(limit, for: channel, now: now())
            }
            let items: [OutboxItem]
            do {
                items = try await store.claimDueOutbox(limit: limit, channelLimits: channelLimits, now: now(), lease: leaseSeconds)
            } catch {
                for (channel, tokens) in channelLimits { pacer.giveBack(tokens, for: channel) }
                logger.error("outbox claim failed", metadata: ["error": "\(error)"])
                return
            }
            for (channel, tokens) in channelLimits {
                pacer.giveBack(tokens - items.filter { $0.channel == channel }.count, for: channel)
            }
            guard !items.isEmpty else { return }
            inFlight.add(items.count, ordering: .relaxed)
            for item in items {
                group.addTask {
                    await self.deliver(item)
                    self.inFlight.subtract(1, ordering: .relaxed)
                    self.wakeups.wake()
                }
            }
            // Go round again only while the unpaced claim came back full; paced channels wait for tokens.
            if items.filter({ channelLimits[$0.channel] == nil }).count < limit { return }
        }
    }

    /// Longer than any one attempt can take, so a live send is never claimed twice.
    private var leaseSeconds: Double {
        Double(settings.requestTimeoutMilliseconds) / 1000 * 2 + max(1, settings.leaseMarginSeconds)
    }

    func deliver(_ item: OutboxItem) async {
        let attempt = item.previousAttempts + 1
        var metadata: Logger.Metadata = [
            "message_id": "\(item.messageId)", "contact_id": "\(item.contactId)", "channel": "\(item.channel.rawValue)",
            "attempt": "\(attempt)",
        ]
        let result = await resolveAndSend(item, attempt: attempt)
        switch result {
        case .sent(let providerMessageId):
            GatewayMetrics.outbound(channel: item.channel.rawValue, result: "sent")
            metadata["provider_message_id"] = "\(providerMessageId)"
            logger.debug("outbound message sent", metadata: metadata)
        case .retry(let error, let notBefore):
            GatewayMetrics.outbound(channel: item.channel.rawValue, result: "retry")
            metadata["error_code"] = "\(error.code)"
            metadata["retry_at"] = "\(Timestamp.string(from: notBefore))"
            logger.warning("outbound send failed, will retry", metadata: metadata)
        case .outcomeUnknown(let error, let notBefore, _):
            GatewayMetrics.outbound(channel: item.channel.rawValue, result: "unknown")
            metadata["error_code"] = "\(error.code)"
            metadata["retry_at"] = "\(Timestamp.string(from: notBefore))"
            logger.warning("outbound send outcome unknown (the provider may have the message), will retry", metadata: metadata)
        case .failed(let error, let unsubscribed):
            GatewayMetrics.outbound(channel: item.channel.rawValue, result: "failed")
            metadata["error_code"] = "\(error.code)"
            metadata["unsubscribed"] = "\(unsubscribed)"
            logger.warning("outbound message failed", metadata: metadata)
        }
        do {
            if let message = try await store.recordDelivery(
                messageId: item.messageId, claimId: item.claimId, result: result, at: now(), returning: events?.hasSubscribers ?? false) {
                events?.publish(.status(message))
            }
        } catch StoreError.leaseLost {
            // This attempt outlived its lease and another worker (perhaps another instance) took the
            // row over: that worker's attempt knows an earlier one may have reached the provider.
            GatewayMetrics.outbound(channel: item.channel.rawValue, result: "lease_lost")
            logger.warning("outbound result not recorded: the lease was taken over", metadata: metadata)
        } catch {
            // The lease expires and the row is tried again: at least once, never lost.
            metadata["error"] = "\(error)"
            logger.error("recording an outbound result failed", metadata: metadata)
        }
    }

    /// Why `content` cannot go out on `channel`: the rules every channel shares, then what the
    /// channel's adapter cannot carry in any form (checked by the API before queueing, and again here).
    public func contentProblem(_ content: Content, channel: Channel) -> MessageError? {
        OutboundPolicy.contentProblem(content, channel: channel) ?? adapters[channel]?.contentProblem(content)
    }

    /// The checks made at send time (a STOP or a closed window after the message was queued counts),
    /// the RCS capability and its fallback, then the send itself.
    func resolveAndSend(_ item: OutboxItem, attempt: Int) async -> DeliveryResult {
        if !item.subscribed {
            return .failed(OutboundPolicy.unsubscribed(item.channel), unsubscribed: false)
        }
        if let problem = contentProblem(item.content, channel: item.channel) {
            return .failed(problem, unsubscribed: false)
        }
        let unknownSince = item.outcomeUnknownSince
        var envelope = OutboundEnvelope(
            messageId: item.messageId, recipientAddress: item.recipient, content: item.content, author: item.author)
        switch item.channel {
        case .messenger:
            switch OutboundPolicy.messengerWindow(
                now: now(), windowOpenUntil: item.windowOpenUntil, author: item.author, allowHumanAgentTag: allowHumanAgentTag) {
            case .response: break
            case .humanAgentTag: envelope.messengerTag = "HUMAN_AGENT"
            case .refused: return .failed(OutboundPolicy.outsideWindow, unsubscribed: false)
            }
        case .rcs:
            guard let rcsCapabilities else { break }
            switch await rcsCapabilities.capability(of: item.recipient, now: now()) {
            case .known(let record) where record.capable:
                envelope.rcsFeatures = Set(record.features)
            case .known:
                return await fallBackToSMS(item, envelope: envelope, attempt: attempt, unknownSince: unknownSince)
            case .unknown(let error):
                return retryOrGiveUp(error, retryAfter: nil, attempt: attempt)
            }
        case .sms, .webchat:
            break
        }
        if let local = localChannels[item.channel] {
            return await local.deliver(item)
        }
        guard let adapter = adapters[item.channel] else {
            return .failed(
                MessageError(code: "channel_disabled", message: "the \(item.channel.rawValue) channel is not configured"), unsubscribed: false)
        }
        return await send(envelope, through: adapter, attempt: attempt, unknownSince: unknownSince)
    }

    /// RCS to a phone without RCS: over SMS when configured and allowed, else failed.
    func fallBackToSMS(_ item: OutboxItem, envelope: OutboundEnvelope, attempt: Int, unknownSince: Date?) async -> DeliveryResult {
        let notCapable = MessageError(code: "not_rcs_capable", message: "the phone \(item.recipient) has no RCS")
        guard fallbackToSMS, let sms = adapters[.sms] else { return .failed(notCapable, unsubscribed: false) }
        // The fallback is another channel, with its own subscription: a phone that sent STOP on
        // SMS gets no SMS, whatever it allowed on RCS.
        do {
            if try await store.contact(id: item.contactId)?.subscriptions[Channel.sms.rawValue] == false {
                return .failed(
                    MessageError(code: "unsubscribed", message: "the phone has no RCS, and it unsubscribed from SMS"), unsubscribed: false)
            }
        } catch {
            return retryOrGiveUp(MessageError(code: "storage_unavailable", message: "\(error)"), retryAfter: nil, attempt: attempt)
        }
        var smsEnvelope = envelope
        smsEnvelope.rcsFeatures = nil
        do {
            try await store.reroute(messageId: item.messageId, claimId: item.claimId, to: .sms, recipient: item.recipient, at: now())
        } catch {
            return retryOrGiveUp(MessageError(code: "storage_unavailable", message: "\(error)"), retryAfter: nil, attempt: attempt)
        }
        logger.info("RCS message sent over SMS: the phone has no RCS", metadata: ["message_id": "\(item.messageId)"])
        return await send(smsEnvelope, through: sms, attempt: attempt, unknownSince: unknownSince)
    }

    /// Sends `envelope`, unless an earlier attempt whose outcome is unknown (`unknownSince`) is
    /// found at the provider: that message is adopted instead.
    private func send(
        _ envelope: OutboundEnvelope, through adapter: any OutboundChannelAdapter, attempt: Int, unknownSince: Date?
    ) async -> DeliveryResult {
        let request: ProviderRequest
        do {
            request = try adapter.render(envelope)
        } catch {
            return .failed(error, unsubscribed: false)
        }
        if let unknownSince, let lookup = adapter as? any SentMessageLookup {
            switch await findEarlierSend(envelope, channel: adapter.channel, lookup: lookup, since: unknownSince) {
            case .found(let providerMessageId):
                logger.info("an earlier send whose outcome was unknown reached the provider: adopted, not sent again", metadata: [
                    "message_id": "\(envelope.messageId)", "channel": "\(adapter.channel.rawValue)",
                    "provider_message_id": "\(providerMessageId)", "attempt": "\(attempt)",
                ])
                return .sent(providerMessageId: providerMessageId)
            case .notFound:
                break
            case .unavailable(let error):
                // Sending without knowing could make a second copy: look again later.
                return retryOrGiveUp(error, retryAfter: nil, attempt: attempt)
            }
        }
        let startedAt = now()
        let outcome: SendOutcome
        do throws(AuthorizedProviderCall.Failure) {
            let response = try await AuthorizedProviderCall.execute(HTTPClientRequest(
                method: request.method, url: request.url, headers: request.headers.map { (name: $0.name, value: $0.value) },
                body: request.body, timeoutMilliseconds: settings.requestTimeoutMilliseconds),
                authorization: authorizations[adapter.channel], client: client)
            outcome = adapter.interpret(
                ProviderResponse(status: response.status, headers: response.headers.map { ProviderHeader($0.name, $0.value) }, body: response.body),
                for: envelope)
        } catch {
            switch error {
            case .authorization(let problem):
                // No credentials now: try again later, when the token endpoint may answer.
                return retryOrGiveUp(problem, retryAfter: nil, attempt: attempt)
            case .transport(let error):
                // A call cut off by the gateway itself (shutdown's deadline) is no verdict of the
                // provider's, and it may have left: never "failed", and the next attempt looks first.
                if error.requestMayHaveBeenSent || error.kind == .cancelled || error.kind == .shutdown {
                    // Not "failed": the provider may have accepted it. The next attempt knows it.
                    let problem = MessageError(code: "provider_outcome_unknown", message: error.description)
                    return retryOrGiveUp(problem, retryAfter: nil, attempt: attempt, unknownSince: startedAt)
                }
                let problem = MessageError(code: "provider_unreachable", message: error.description)
                outcome = error.isTransient ? .retry(problem, retryAfterSeconds: nil) : .failed(problem, unsubscribed: false)
            }
        }
        switch outcome {
        case .accepted(let providerMessageId, _):
            return .sent(providerMessageId: providerMessageId)
        case .failed(let error, let unsubscribed):
            return .failed(error, unsubscribed: unsubscribed)
        case .retry(let error, let retryAfter):
            let wait = Self.providerWait(retryAfter)
            if wait > 0 { pacer.pause(adapter.channel, until: now().addingTimeInterval(wait)) }
            return retryOrGiveUp(error, retryAfter: wait, attempt: attempt)
        }
    }

    /// What a lookup of an earlier send found.
    enum EarlierSend: Equatable {
        case found(providerMessageId: String)
        case notFound
        /// The provider's list could not be read.
        case unavailable(MessageError)
    }

    /// Most pages of the provider's list read in one lookup (Twilio: 100 messages a page to one
    /// recipient since the day of the first attempt; more than that is not a conversation).
    static let maxLookupPages = 5

    /// Reads the provider's list for the message an earlier attempt created; the oldest match that
    /// no other message of ours has adopted wins.
    func findEarlierSend(
        _ envelope: OutboundEnvelope, channel: Channel, lookup: any SentMessageLookup, since: Date
    ) async -> EarlierSend {
        var next: ProviderRequest? = lookup.renderLookup(envelope, since: since)
        var pages = 0
        while let request = next, pages < Self.maxLookupPages {
            pages += 1
            let page: SentMessageLookupPage
            do {
                let response = try await client.execute(HTTPClientRequest(
                    method: request.method, url: request.url, headers: request.headers.map { (name: $0.name, value: $0.value) },
                    body: request.body, timeoutMilliseconds: settings.requestTimeoutMilliseconds))
                page = try lookup.interpretLookup(
                    ProviderResponse(status: response.status, headers: response.headers.map { ProviderHeader($0.name, $0.value) }, body: response.body),
                    for: envelope, since: since)
            } catch let error as HTTPClientError {
                return .unavailable(MessageError(code: "provider_lookup_unreachable", message: error.description))
            } catch let error as MessageError {
                return .unavailable(error)
            } catch {
                return .unavailable(MessageError(code: "provider_lookup_failed", message: "\(error)"))
            }
            for providerMessageId in page.matches {
                do {
                    let owner = try await store.outboundMessageId(channel: channel, providerMessageId: providerMessageId)
                    if owner == nil || owner == envelope.messageId { return .found(providerMessageId: providerMessageId) }
                } catch {
                    return .unavailable(MessageError(code: "storage_unavailable", message: "\(error)"))
                }
            }
            next = page.nextPage
        }
        return .notFound
    }

    /// The next attempt's due time, or the end: `unknownSince` is the start of this attempt when
    /// its outcome is unknown.
    func retryOrGiveUp(_ error: MessageError, retryAfter: Double?, attempt: Int, unknownSince: Date? = nil) -> DeliveryResult {
        if attempt >= settings.maxAttempts {
            return .failed(
                MessageError(code: "retries_exhausted", message: "gave up after \(attempt) attempts; last: \(error.code): \(error.message)"),
                unsubscribed: false)
        }
        let notBefore = now().addingTimeInterval(retryDelay(attempt: attempt, retryAfter: retryAfter))
        if let unknownSince {
            return .outcomeUnknown(error, notBefore: notBefore, attemptStartedAt: unknownSince)
        }
        return .retry(error, notBefore: notBefore)
    }

    /// Exponential backoff with jitter (half to full delay), never sooner than the provider's
    /// `Retry-After` (which is honoured even above `retryMaxSeconds`, up to an hour).
    func retryDelay(attempt: Int, retryAfter: Double?) -> Double {
        let exponential = min(settings.retryMaxSeconds, settings.retryBaseSeconds * pow(2, Double(attempt - 1)))
        let jittered = exponential * Double.random(in: 0.5...1.0)
        return max(jittered, Self.providerWait(retryAfter))
    }

    /// A provider's `Retry-After` in seconds as a usable wait: 0 unless finite and positive, an
    /// hour at most (the header is input: `nan` or `1e308` must neither trap nor stop a channel).
    static func providerWait(_ retryAfter: Double?) -> Double {
        guard let retryAfter, retryAfter.isFinite, retryAfter > 0 else { return 0 }
        return min(retryAfter, 3600)
    }
}
