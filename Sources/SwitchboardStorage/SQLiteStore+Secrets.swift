import Foundation
import GRDB
import Logging
import SwitchboardCore

/// Secrets the gateway makes once and keeps (the web-chat token key).
extension SQLiteStore {
    public func secret(named name: String, create: @escaping @Sendable () -> String) async throws -> String {
        let candidate = create()
        let now = Timestamp.millis(Date())
        return try await pool.write { db in
            try db.execute(
                sql: "INSERT INTO gateway_secrets (name, value, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                arguments: [name, candidate, now])
            return try String.fetchOne(db, sql: "SELECT value FROM gateway_secrets WHERE name = ?", arguments: [name]) ?? candidate
        }
    }
}
