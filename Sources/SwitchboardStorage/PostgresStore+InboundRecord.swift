import Foundation
import Logging
import PostgresNIO
import SwitchboardCore

/// What `switchboard_record_inbound` (migration v14) stores for one inbound message, and what it
/// answers.
struct InboundRecord: Sendable {
    var inbound: InboundMessage
    /// The id the message gets unless the provider id was seen before.
    var messageId: String
    /// The id a contact created for the sender gets.
    var newContactId: String
    var now: Int64

    /// The stored message as the normalized model has it.
    func message(contactId: String, content: Content) -> Message {
        let stamp = Timestamp.date(millis: now)
        return Message(
            id: messageId, contactId: contactId, channel: inbound.channel, direction: .inbound,
            author: .init(kind: .contact), content: content, status: .received,
            providerMessageId: inbound.providerMessageId, createdAt: stamp, updatedAt: stamp)
    }

    /// The function's answer.
    struct Stored: Sendable {
        /// This message's id, or the first one's when `duplicate`.
        var messageId: String
        var duplicate: Bool
        /// Empty when `duplicate`.
        var contactId: String
        /// The content (JSON) of the latest outbound SMS to the contact, when asked for.
        var lastOutboundSMS: String?
        /// The contact as stored with this message, and its flow position, when asked for.
        var contact: Contact?
        var botState: String?
    }
}

extension PostgresStore {
    /// Stores one inbound message in one round trip (see migration v14): in the caller's
    /// transaction, or on its own as one atomic statement. `withContact` also reads the contact
    /// back, with its flow position, in the same round trip (`switchboard_contacts`, v17).
    static func recordInbound(
        _ connection: PostgresConnection, _ record: InboundRecord, remoteBot: Bool, lastOutboundSMS: Bool, withContact: Bool = false,
        logger: Logger
    ) async throws -> InboundRecord.Stored {
        let inbound = record.inbound
        let sentAt = inbound.sentAt.map(Timestamp.millis)
        let content = try encode(inbound.content)
        let select = withContact ? "SELECT r.message, r.duplicate, r.contact, r.last_outbound_sms, c.* FROM" : "SELECT * FROM"
        let join = withContact
            ? " r LEFT JOIN LATERAL switchboard_contacts(CASE WHEN r.duplicate THEN '{}'::text[] ELSE ARRAY[r.contact] END, true) c ON true"
            : ""
        let query: PostgresQuery = """
            \(unescaped: select) switchboard_record_inbound(
                \(inbound.channel.rawValue), \(inbound.providerMessageId), \(record.messageId), \(record.newContactId),
                \(inbound.senderAddress), \(inbound.recipientAddress), \(sentAt), \(content), \(record.now), \(remoteBot), \(lastOutboundSMS))
            \(unescaped: join)
            """
        guard let row = try await connection.rows(query, logger).first
        else { throw PostgresStoreError.unexpectedAnswer("switchboard_record_inbound returned no row") }
        return InboundRecord.Stored(
            messageId: try row.value("message"), duplicate: try row.value("duplicate"),
            contactId: try row.value("contact", as: String?.self) ?? "",
            lastOutboundSMS: try row.value("last_outbound_sms", as: String?.self),
            contact: withContact ? try contact(from: row) : nil,
            botState: withContact ? try row.value("bot_state", as: String?.self) : nil)
    }
}
