import Foundation
import Logging
import PostgresNIO
import SwitchboardCore

/// The external bot's queue across instances: claimed like the outbox (SKIP LOCKED, lease, claim id).
extension PostgresStore {
    public func claimBotDeliveries(limit: Int, now: Date, lease: Double) async throws -> [BotDelivery] {
        let nowMillis = Timestamp.millis(now)
        let leaseEnd = nowMillis + Int64(lease * 1000)
        let claimId = UUID().uuidString
        let logger = logger
        return try await transaction { connection in
            let claimed = try await connection.rows("""
                WITH due AS (
                    SELECT message_id FROM bot_deliveries WHERE next_attempt_at <= \(nowMillis)
                    ORDER BY next_attempt_at, message_id LIMIT \(max(0, limit))
                    FOR UPDATE SKIP LOCKED)
                UPDATE bot_deliveries d SET next_attempt_at = \(leaseEnd), attempts = d.attempts + 1, claim_id = \(claimId)
                FROM due WHERE d.message_id = due.message_id
                RETURNING d.message_id, d.attempts
                """, logger)
            var deliveries: [BotDelivery] = []
            for row in claimed {
                let id: String = try row.value("message_id")
                let attempts: Int64 = try row.value("attempts")
                guard let message = try await Self.message(connection, id: id, logger: logger),
                      let contact = try await Self.loadContact(connection, id: message.contactId, logger: logger)
                else { continue }
                deliveries.append(BotDelivery(message: message, contact: contact, previousAttempts: Int(clamping: attempts - 1), claimId: claimId))
            }
            return deliveries.sorted { $0.message.id < $1.message.id }
        }
    }

    public func completeBotDelivery(_ delivery: BotDelivery, turn: BotTurn?, at now: Date) async throws -> [Message] {
        let logger = logger
        return try await transaction { connection in
            let removed = try await connection.rows("""
                DELETE FROM bot_deliveries WHERE message_id = \(delivery.message.id) AND claim_id = \(delivery.claimId) RETURNING message_id
                """, logger)
            guard !removed.isEmpty else { throw StoreError.leaseLost(messageId: delivery.message.id) }
            guard let turn, let contact = try await Self.loadContact(connection, id: delivery.contact.id, logger: logger), contact.botEnabled
            else { return [] }
            let channel = delivery.message.channel
            guard let recipient = contact.channels.first(where: { $0.channel == channel })?.address else { return [] }
            return try await Self.apply(
                BotTurnPlan(turn: turn, channel: channel, subscribed: contact.subscriptions[channel.rawValue] != false),
                contactId: contact.id, channel: channel, recipient: recipient, connection: connection, now: now, logger: logger)
        }
    }

    public func retryBotDelivery(messageId: String, claimId: String?, notBefore: Date?, error: String) async throws {
        let logger = logger
        try await transaction { connection in
            if let claimId {
                let owner = try await connection.rows(
                    "SELECT claim_id FROM bot_deliveries WHERE message_id = \(messageId) FOR UPDATE", logger
                ).first?.value("claim_id", as: String?.self)
                guard owner == claimId else { throw StoreError.leaseLost(messageId: messageId) }
            }
            if let notBefore {
                try await connection.rows("""
                    UPDATE bot_deliveries SET next_attempt_at = \(Timestamp.millis(notBefore)), last_error = \(error)
                    WHERE message_id = \(messageId)
                    """, logger)
            } else {
                try await connection.rows("DELETE FROM bot_deliveries WHERE message_id = \(messageId)", logger)
            }
        }
    }
}

/// The RCS capability cache, shared by every instance.
extension PostgresStore {
    public func rcsCapability(phone: String) async throws -> RCSCapabilityRecord? {
        let logger = logger
        return try await read { connection in
            guard let row = try await connection.rows(
                "SELECT phone, capable, features, checked_at, source FROM rcs_capabilities WHERE phone = \(phone)", logger).first
            else { return nil }
            let featuresJSON: String = try row.value("features")
            return RCSCapabilityRecord(
                phone: try row.value("phone"), capable: try row.value("capable"),
                features: (try? JSONDecoder().decode([String].self, from: Data(featuresJSON.utf8))) ?? [],
                checkedAt: Timestamp.date(millis: try row.value("checked_at")), source: try row.value("source"))
        }
    }

    public func saveRCSCapability(_ record: RCSCapabilityRecord) async throws {
        let features = String(decoding: try JSONEncoder().encode(record.features), as: UTF8.self)
        let logger = logger
        _ = try await read { connection in
            try await connection.rows("""
                INSERT INTO rcs_capabilities (phone, capable, features, checked_at, source)
                VALUES (\(record.phone), \(record.capable), \(features), \(Timestamp.millis(record.checkedAt)), \(record.source))
                ON CONFLICT (phone) DO UPDATE SET capable = excluded.capable, features = excluded.features,
                    checked_at = excluded.checked_at, source = excluded.source
                """, logger)
        }
    }
}
