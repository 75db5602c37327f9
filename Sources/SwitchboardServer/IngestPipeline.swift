import Foundation
import Logging
import SwitchboardCore
import SwitchboardStorage

/// Takes an adapter's events through de-duplication, storage and routing. Its callers acknowledge
/// the provider only after `ingest` returns, that is after the commit.
public struct IngestPipeline: Sendable {
    let store: any MessageStore
    let bot: (any Bot)?
    let policy: InboundPolicy
    let outbox: OutboxWorker
    let events: EventBus
    /// Woken when messages are queued for the external bot.
    var remoteBotWake: (@Sendable () -> Void)?
    /// Woken when inbound media was stored to be fetched; with it, inbound attachments are marked
    /// `fetch: pending` (which queues their fetch in the storing transaction).
    var mediaWake: (@Sendable () -> Void)?
    let now: @Sendable () -> Date

    public init(
        store: any MessageStore, bot: (any Bot)?, policy: InboundPolicy = InboundPolicy(), outbox: OutboxWorker,
        events: EventBus, now: @escaping @Sendable () -> Date = Date.init
    ) {
        self.events = events
        self.store = store
        self.bot = bot
        self.policy = policy
        self.outbox = outbox
        self.now = now
    }

    /// Stores the events; throws when storage fails, so the provider gets a 5xx and retries.
    public func ingest(_ events: [InboundEvent], logger: Logger) async throws {
        var queuedReplies = false
        for event in events {
            switch event {
            case .message(let inbound):
                if case .stored(_, _, let replies) = try await ingest(inbound, logger: logger), !replies.isEmpty {
                    queuedReplies = true
                }
            case .statusUpdate(let update):
                try await apply(update, logger: logger)
            case .watermark(let watermark):
                let moved = try await store.applyWatermark(watermark, at: now())
                logger.debug("watermark applied", metadata: [
                    "channel": "\(watermark.channel.rawValue)", "status": "\(watermark.status.rawValue)", "messages": "\(moved)",
                ])
            case .reaction(let update):
                try await apply(update, logger: logger)
            case .typing(let channel, _):
                logger.debug("contact typing", metadata: ["channel": "\(channel.rawValue)"])
            case .ignored(let reason):
                logger.info("webhook event ignored", metadata: ["reason": "\(reason)"])
            }
        }
        if queuedReplies { outbox.wake() }
        if policy.remoteBot { remoteBotWake?() }
    }

    /// Stores one inbound message (and queues its bot replies) and says what became of it; the
    /// caller wakes the outbox when replies were queued.
    public func ingest(_ inbound: InboundMessage, logger: Logger) async throws -> IngestResult {
        var inbound = inbound
        let fetchesMedia = mediaWake != nil && !inbound.content.attachments.isEmpty
        if fetchesMedia {
            for index in inbound.content.attachments.indices where inbound.content.attachments[index].fetch == nil {
                inbound.content.attachments[index].fetch = .pending
            }
        }
        let result = try await store.ingest(inbound, at: now(), bot: bot, policy: policy)
        if fetchesMedia, case .stored = result { mediaWake?() }
        switch result {
        case .stored(let message, let contact, let replies):
            GatewayMetrics.inbound(channel: inbound.channel.rawValue)
            if events.hasSubscribers {
                events.publish(.created(message))
                for reply in replies { events.publish(.created(reply)) }
                if let contact {
                    events.publish(.changed(contact))
                } else if events.hasStreams {
                    if let changed = try? await store.contact(id: message.contactId) { events.publish(.changed(changed)) }
                } else {
                    // Only the relay listens: it needs the id, not a read of the contact.
                    events.publish(.changed(contactId: message.contactId))
                }
            }
            logger.debug("inbound message stored", metadata: [
                "channel": "\(inbound.channel.rawValue)", "message_id": "\(message.id)",
                "contact_id": "\(message.contactId)", "replies": "\(replies.count)",
            ])
        case .duplicate(let messageId):
            GatewayMetrics.duplicate(channel: inbound.channel.rawValue)
            logger.info("duplicate inbound message acknowledged", metadata: [
                "channel": "\(inbound.channel.rawValue)", "message_id": "\(messageId)",
            ])
        }
        return result
    }

    /// Applies a status report (a provider's callback, a web-chat visitor's read receipt) and tells
    /// the consoles on every instance; nil when it does not apply (an unknown message, or a status
    /// that would go backwards).
    @discardableResult
    public func apply(_ update: StatusUpdate, logger: Logger) async throws -> Message? {
        guard let message = try await store.applyStatus(update, at: now()) else {
            logger.info("status report not applied (unknown message or not forward)", metadata: [
                "channel": "\(update.channel.rawValue)", "status": "\(update.status.rawValue)",
            ])
            return nil
        }
        events.publish(.status(message))
        logger.debug("status updated", metadata: [
            "channel": "\(update.channel.rawValue)", "message_id": "\(message.id)", "status": "\(message.status.rawValue)",
        ])
        return message
    }

    /// Sets or clears a contact's reaction on a message and tells the consoles; nil when it does
    /// not apply (a message not in the sender's conversation, or nothing changes).
    @discardableResult
    public func apply(_ update: ReactionUpdate, logger: Logger) async throws -> Message? {
        guard let message = try await store.applyReaction(update, at: now()) else {
            logger.info("reaction not applied (unknown message or no change)", metadata: ["channel": "\(update.channel.rawValue)"])
            return nil
        }
        events.publish(.reaction(message))
        logger.debug("reaction updated", metadata: [
            "channel": "\(update.channel.rawValue)", "message_id": "\(message.id)", "removed": "\(update.isRemoval)",
        ])
        return message
    }

    /// Asks the outbox to send what was just queued.
    public func wakeOutbox() {
        outbox.wake()
    }
}
