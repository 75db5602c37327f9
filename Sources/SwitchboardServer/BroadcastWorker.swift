import Foundation
import Logging
import ServiceLifecycle
import SwitchboardCore
import SwitchboardStorage

/// Fans running broadcasts out: a batch of recipients at a time, each decided by
/// `BroadcastRecipientRule` and queued (or skipped with its reason) in one transaction, no
/// further ahead of the outbox than the channel's window. Recipients are rows in the database, so
/// a restart (or another instance) continues where this one stopped.
public final class BroadcastWorker: Service, Sendable {
    private let store: any MessageStore
    private let outbox: OutboxWorker
    private let events: EventBus
    private let settings: GatewayConfiguration.BroadcastSettings
    private let pacing: [String: GatewayConfiguration.Pace]
    private let enabledChannels: Set<SwitchboardCore.Channel>
    private let logger: Logger
    private let now: @Sendable () -> Date
    private let wakeups = Wakeups()

    public init(
        store: any MessageStore, outbox: OutboxWorker, events: EventBus, settings: GatewayConfiguration.BroadcastSettings,
        pacing: [String: GatewayConfiguration.Pace], enabledChannels: Set<SwitchboardCore.Channel>, logger: Logger,
        now: @escaping @Sendable () -> Date
    ) {
        self.store = store
        self.outbox = outbox
        self.events = events
        self.settings = settings
        self.pacing = pacing
        self.enabledChannels = enabledChannels
        self.logger = logger
        self.now = now
    }

    /// A broadcast was created: fan out now rather than at the next tick.
    public func wake() {
        wakeups.wake()
    }

    public func run() async {
        let ticker = wakeups.tick(every: 0.5)
        defer { ticker.cancel() }
        await withGracefulShutdownHandler {
            for await _ in wakeups.stream {
                await fanOutRunning()
            }
        } onGracefulShutdown: { [wakeups] in
            wakeups.finish()
        }
    }

    /// One pass over the running broadcasts: each fans out until its windows are full or nobody
    /// waits.
    func fanOutRunning() async {
        let ids: [String]
        do {
            ids = try await store.runningBroadcastIds()
        } catch {
            logger.warning("broadcasts: cannot list running broadcasts", metadata: ["error": "\(error)"])
            return
        }
        for id in ids {
            guard !Task.isCancelled else { return }
            let broadcast: Broadcast
            do {
                guard let found = try await store.broadcast(id: id) else { continue }
                broadcast = found
            } catch {
                logger.warning("broadcasts: cannot read a broadcast; tried again", metadata: ["broadcast_id": "\(id)", "error": "\(error)"])
                continue
            }
            let rule = BroadcastRecipientRule(channel: broadcast.channel, enabledChannels: enabledChannels)
            let (settings, pacing, clock) = (settings, pacing, now)
            while !Task.isCancelled {
                let batch: BroadcastFanOut
                do {
                    let time = clock()
                    batch = try await store.fanOutBroadcast(
                        id: id, limit: settings.batchSize, window: { settings.window(for: $0, pacing: pacing) },
                        decide: { rule.decide($0, now: time) }, at: time)
                } catch {
                    logger.warning("broadcast fan-out failed; it is tried again", metadata: ["broadcast_id": "\(id)", "error": "\(error)"])
                    break
                }
                if !batch.queued.isEmpty { outbox.wake() }
                for message in batch.queued { events.publish(.created(message)) }
                logger.debug("broadcast fanned out", metadata: [
                    "broadcast_id": "\(id)", "queued": "\(batch.queued.count)", "skipped": "\(batch.skipped)",
                    "remaining": "\(batch.remaining)",
                ])
                // Again while it moves; a batch that moved nobody waits for the outbox (windows full).
                if batch.remaining <= 0 || (batch.queued.isEmpty && batch.skipped == 0) { break }
            }
        }
    }
}
