import ArgumentParser
import Foundation
import SwitchboardServer
import SwitchboardStorage

struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate", abstract: "Apply the database migrations and exit.")

    @OptionGroup var options: ConfigurationOptions

    func run() async throws {
        let configuration = try loadConfiguration(options)
        guard let path = configuration.sqlitePath else {
            throw ValidationError("only SQLite databases are supported by this build")
        }
        let store = try SQLiteStore(path: path)
        print("Database \(path) is at migration: \(try store.appliedMigrations().joined(separator: ", "))")
    }
}
