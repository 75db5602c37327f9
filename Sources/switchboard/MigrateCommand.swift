import ArgumentParser
import Foundation
import Logging
import SwitchboardServer
import SwitchboardStorage

/// `switchboard migrate`: applies the pending migrations to the configured database (the SQLite
/// file, or PostgreSQL, where instances starting at once migrate once under an advisory lock) and
/// prints where the database stands.
struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate", abstract: "Apply the database migrations and exit.")

    @OptionGroup var options: ConfigurationOptions

    func run() async throws {
        let configuration = try loadConfiguration(options)
        let logger = Logger(label: "switchboard.migrate")
        let store = try await Gateway.openStore(configuration, logger: logger)
        let applied = try await store.appliedMigrations()
        await store.close()
        let name: String = switch configuration.databaseLocation {
        case .success(.sqlite(let path)): path
        case .success(.postgres(let location)): location.redacted
        case .failure: configuration.database
        }
        print("Database \(name) is at migration: \(applied.joined(separator: ", "))")
    }
}
