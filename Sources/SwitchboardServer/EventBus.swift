import Foundation
import SwitchboardCore
import Synchronization

/// Live updates for the console (`GET /api/v1/events`): message created, status changed, reaction
/// changed, contact changed.
public struct GatewayEvent: Encodable, Sendable {
    public enum Kind: String, Encodable, Sendable {
        case messageCreated = "message.created"
        case messageStatus = "message.status"
        case messageReaction = "message.reaction"
        case contactChanged = "contact.changed"
    }
    public var type: Kind
    public var message: Message?
    public var contact: Contact?
    /// Came from another instance (through `InstanceEventRelay`): not sent on again.
    public var relayed = false
    /// The contact a `contact.changed` event is about, also when `contact` was not read (nobody but
    /// the relay to the other instances listened, and it sends only the id).
    public var contactId: String?
    /// Whether event streams can show it: a reference-only contact change cannot.
    public var isComplete: Bool { type != .contactChanged || contact != nil }

    enum CodingKeys: String, CodingKey { case type, message, contact }

    public static func created(_ message: Message) -> GatewayEvent { GatewayEvent(type: .messageCreated, message: message) }
    public static func status(_ message: Message) -> GatewayEvent { GatewayEvent(type: .messageStatus, message: message) }
    public static func reaction(_ message: Message) -> GatewayEvent { GatewayEvent(type: .messageReaction, message: message) }
    public static func changed(_ contact: Contact) -> GatewayEvent {
        GatewayEvent(type: .contactChanged, contact: contact, contactId: contact.id)
    }
    /// A contact change for the relay alone: the other instances read the contact themselves.
    public static func changed(contactId: String) -> GatewayEvent { GatewayEvent(type: .contactChanged, contactId: contactId) }
}

/// Fans events out to the open event streams. Publishing with nobody listening costs nothing, and
/// a slow listener loses its oldest events rather than holding anyone up.
public final class EventBus: Sendable {
    private let subscribers = Mutex<[UUID: AsyncStream<GatewayEvent>.Continuation]>([:])

    public init() {}

    private let relays = Mutex<Set<UUID>>([])

    /// Whether anyone listens (so callers can skip reading what only listeners need).
    public var hasSubscribers: Bool { subscribers.withLock { !$0.isEmpty } }

    /// Whether anyone other than a relay to the other instances listens (an event stream).
    public var hasStreams: Bool {
        let relays = relays.withLock { $0 }
        return subscribers.withLock { $0.keys.contains { !relays.contains($0) } }
    }

    public func publish(_ event: GatewayEvent) {
        let targets = subscribers.withLock { Array($0.values) }
        for continuation in targets { continuation.yield(event) }
    }

    /// A stream of every event from now on, and a way to end it (on shutdown); it also ends when
    /// the caller stops iterating.
    public func subscribe(asRelay: Bool = false) -> (events: AsyncStream<GatewayEvent>, end: @Sendable () -> Void) {
        let id = UUID()
        if asRelay { _ = relays.withLock { $0.insert(id) } }
        let (stream, continuation) = AsyncStream.makeStream(of: GatewayEvent.self, bufferingPolicy: .bufferingNewest(1000))
        continuation.onTermination = { [weak self] _ in
            _ = self?.subscribers.withLock { $0.removeValue(forKey: id) }
            _ = self?.relays.withLock { $0.remove(id) }
        }
        subscribers.withLock { $0[id] = continuation }
        return (stream, { continuation.finish() })
    }
}
