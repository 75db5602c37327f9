import Foundation
import HummingbirdWebSocket
import Logging
import SwitchboardCore
import SwitchboardStorage

/// The web-chat channel's delivery: the visitors' open WebSockets, and the outbox's way to them.
///
/// A message queued for a visitor is stored like any other and counts as `sent` once the hub has
/// it; it is written to every open socket of that visitor, and a visitor who was away gets it on
/// `resume`. Nothing is lost when no socket is open.
public actor WebChatHub: LocalChannelDelivery {
    public nonisolated let channel = Channel.webchat
    private let store: any MessageStore
    private let logger: Logger
    private var sockets: [String: [UUID: WebSocketOutboundWriter]] = [:]

    public init(store: any MessageStore, logger: Logger) {
        self.store = store
        self.logger = logger
    }

    /// Registers a visitor's socket; nil when the visitor already has `limit` open (each holds a
    /// connection and receives every frame: a stranger must not open thousands).
    func attach(visitorId: String, writer: WebSocketOutboundWriter, limit: Int) -> UUID? {
        guard (sockets[visitorId]?.count ?? 0) < limit else { return nil }
        let id = UUID()
        sockets[visitorId, default: [:]][id] = writer
        return id
    }

    func detach(visitorId: String, connection: UUID) {
        sockets[visitorId]?[connection] = nil
        if sockets[visitorId]?.isEmpty == true { sockets[visitorId] = nil }
    }

    /// Open sockets, for the logs and the tests.
    public var connectionCount: Int { sockets.values.reduce(0) { $0 + $1.count } }

    public func deliver(_ item: OutboxItem) async -> DeliveryResult {
        guard var message = try? await store.message(id: item.messageId) else {
            return .retry(MessageError(code: "storage_unavailable", message: "the message could not be read"), notBefore: Date().addingTimeInterval(1))
        }
        message.status = .sent
        await push(.message(message), to: item.recipient)
        return .sent(providerMessageId: item.messageId)
    }

    /// A reply another instance sent (its outbox claimed it; the visitor's socket is here): pushed
    /// as `deliver` pushes it, when the contact's visitor has a socket on this instance.
    public func pushSentElsewhere(_ message: Message) async {
        guard !sockets.isEmpty, let contact = try? await store.contact(id: message.contactId) else { return }
        for channel in contact.channels where channel.channel == .webchat {
            await push(.message(message), to: channel.address)
        }
    }

    /// Writes a frame to every open socket of the visitor; a socket that fails is dropped.
    func push(_ frame: GatewayFrame, to visitorId: String) async {
        guard let writers = sockets[visitorId], !writers.isEmpty else { return }
        guard let text = try? String(decoding: GatewayJSON.encoder().encode(frame), as: UTF8.self) else { return }
        for (id, writer) in writers {
            do {
                try await writer.write(.text(text))
            } catch {
                logger.debug("web-chat socket dropped", metadata: ["error": "\(error)"])
                detach(visitorId: visitorId, connection: id)
            }
        }
    }
}
