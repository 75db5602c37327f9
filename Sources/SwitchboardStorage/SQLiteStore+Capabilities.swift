import Foundation
import GRDB
import Logging
import SwitchboardCore

/// The RCS capability cache.
extension SQLiteStore {
    public func rcsCapability(phone: String) async throws -> RCSCapabilityRecord? {
        try await pool.read { db in
            try RCSCapabilityRow.fetchOne(db.cachedStatement(sql: "SELECT * FROM rcs_capabilities WHERE phone = ?"), arguments: [phone])?.record
        }
    }

    public func saveRCSCapability(_ record: RCSCapabilityRecord) async throws {
        let features = String(decoding: try JSONEncoder().encode(record.features), as: UTF8.self)
        try await writer.write { db in
            try db.execute(
                sql: """
                    INSERT INTO rcs_capabilities (phone, capable, features, checked_at, source) VALUES (?, ?, ?, ?, ?)
                    ON CONFLICT (phone) DO UPDATE SET capable = excluded.capable, features = excluded.features,
                        checked_at = excluded.checked_at, source = excluded.source
                    """,
                arguments: [record.phone, record.capable, features, Timestamp.millis(record.checkedAt), record.source])
        }
    }
}
