import Foundation
import Logging
import ServiceLifecycle
import SwitchboardCore
import SwitchboardStorage
import Synchronization

/// Carries live updates between the instances that share a database: what this instance's event
/// bus publishes goes out as references (`NOTIFY`), and what the others publish comes back in
/// (`LISTEN`), read from the database and published on this instance's bus for its event streams.
///
/// References, not copies: a notification carries at most 8,000 bytes, and the database holds the
/// current state anyway. References are batched (one notification per `flushInterval`), so a busy
/// instance sends a few notifications a second rather than one per event. A notification lost
/// while the database is away is covered by the console's reconnect-and-refetch.
public final class InstanceEventRelay: Service, Sendable {
    /// One event, by reference: `["message.created", "msg_…", "sms"]` (type, id, and a message's channel).
    struct Batch: Codable {
        /// The instance that sent it (its own notifications come back to it too).
        var origin: String
        var events: [[String]]
    }

    private let bus: EventBus
    private let store: any MessageStore
    private let notifications: any CrossInstanceNotifications
    private let instance = UUID().uuidString
    private let pending = Mutex<[[String]]>([])
    private let flushInterval: Duration
    private let logger: Logger
    /// Pushes a web-chat reply sent by another instance to this instance's sockets of its visitor
    /// (the instance that sent it holds no socket when the visitor is connected here).
    private let webChatDelivery: (@Sendable (Message) async -> Void)?

    public init(
        bus: EventBus, store: any MessageStore, notifications: any CrossInstanceNotifications, flushInterval: Duration = .milliseconds(20),
        webChatDelivery: (@Sendable (Message) async -> Void)? = nil, logger: Logger
    ) {
        self.webChatDelivery = webChatDelivery
        self.bus = bus
        self.store = store
        self.notifications = notifications
        self.flushInterval = flushInterval
        self.logger = logger
    }

    public func run() async {
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                group.addTask { await self.collectLocalEvents() }
                group.addTask { await self.sendBatches() }
                group.addTask { await self.notifications.listenToInstances { payload in await self.receive(payload) } }
            }
        }
    }

    private func collectLocalEvents() async {
        let (events, end) = bus.subscribe(asRelay: true)
        await withTaskCancellationHandler {
            for await event in events where !event.relayed {
                guard let reference = Self.reference(to: event) else { continue }
                pending.withLock { $0.append(reference) }
            }
        } onCancel: {
            end()
        }
    }

    static func reference(to event: GatewayEvent) -> [String]? {
        switch event.type {
        case .messageCreated, .messageReaction: event.message.map { [event.type.rawValue, $0.id, $0.channel.rawValue] }
        // The status too: only a web-chat reply's `sent` is pushed to the visitor's socket elsewhere.
        case .messageStatus: event.message.map { [event.type.rawValue, $0.id, $0.channel.rawValue, $0.status.rawValue] }
        case .contactChanged: (event.contact?.id ?? event.contactId).map { [event.type.rawValue, $0] }
        }
    }

    private func sendBatches() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: flushInterval)
            var events = pending.withLock { pending in
                defer { pending.removeAll(keepingCapacity: true) }
                return pending
            }
            // Each reference is under 60 bytes: 100 a notification stays well under 8,000 bytes.
            while !events.isEmpty {
                let chunk = Array(events.prefix(100))
                events.removeFirst(chunk.count)
                do {
                    let payload = String(decoding: try JSONEncoder().encode(Batch(origin: instance, events: chunk)), as: UTF8.self)
                    try await notifications.notifyInstances(payload)
                } catch {
                    logger.warning("live updates not sent to the other instances", metadata: [
                        "events": "\(chunk.count)", "error": "\(error)",
                    ])
                }
            }
        }
    }

    /// Publishes another instance's events on this instance's bus, as they stand in the database,
    /// and hands a web-chat reply another instance sent to this instance's sockets.
    func receive(_ payload: String) async {
        guard let batch = try? JSONDecoder().decode(Batch.self, from: Data(payload.utf8)), batch.origin != instance else { return }
        let streams = bus.hasStreams
        for reference in batch.events {
            guard reference.count >= 2, let type = GatewayEvent.Kind(rawValue: reference[0]) else { continue }
            switch type {
            case .messageCreated, .messageStatus, .messageReaction:
                // A web-chat reply is pushed once, on its `sent` (later statuses, such as the
                // visitor's `read`, would push it again).
                let webChatSent = type == .messageStatus && reference.count > 3 && reference[2] == Channel.webchat.rawValue
                    && reference[3] == MessageStatus.sent.rawValue
                guard streams || (webChatSent && webChatDelivery != nil),
                      let message = try? await store.message(id: reference[1])
                else { continue }
                if webChatSent, message.direction == .outbound, message.status != .failed, let webChatDelivery {
                    await webChatDelivery(message)
                }
                if streams { publish(GatewayEvent(type: type, message: message)) }
            case .contactChanged:
                guard streams, let contact = try? await store.contact(id: reference[1]) else { continue }
                publish(GatewayEvent(type: type, contact: contact))
            }
        }
    }

    private func publish(_ event: GatewayEvent) {
        var event = event
        event.relayed = true
        bus.publish(event)
    }
}
