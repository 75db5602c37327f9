import SwitchboardStorage
import Testing

/// `SWITCHBOARD_DATABASE` parsing (pure): what is accepted, what is refused, and that no message
/// about it carries the password.
@Suite("Database URL")
struct DatabaseLocationTests {
    @Test("SQLite paths and PostgreSQL URLs, with their parts")
    func accepted() throws {
        #expect(try DatabaseLocation(parsing: "sqlite:data/gw.sqlite") == .sqlite(path: "data/gw.sqlite"))
        #expect(try DatabaseLocation(parsing: "gw.sqlite") == .sqlite(path: "gw.sqlite"))
        let full = try PostgresLocation(parsing: "postgres://sb:s%40cret@db.internal:6543/switchboard?sslmode=verify-full")
        #expect(full == PostgresLocation(
            host: "db.internal", port: 6543, username: "sb", password: "s@cret", database: "switchboard", sslMode: .verifyFull))
        let short = try PostgresLocation(parsing: "postgresql://sb@localhost/gw")
        #expect(short.port == 5432 && short.password == nil && short.sslMode == .prefer)
        let v6 = try PostgresLocation(parsing: "postgres://sb:pw@[::1]:5433/gw?sslmode=disable")
        #expect(v6.host == "::1" && v6.endpoint == "[::1]:5433")
        // A password with '/', '?' and ':' unencoded still splits at the last '@'.
        let odd = try PostgresLocation(parsing: "postgres://sb:a/b?c:d@h:5432/gw")
        #expect(odd.password == "a/b?c:d" && odd.host == "h" && odd.database == "gw")
        // The URL handed to a child process round-trips; the redacted one has no password.
        #expect(try PostgresLocation(parsing: full.connectionURL) == full)
        #expect(!full.redacted.contains("cret") && full.redacted.contains("db.internal:6543"))
    }

    @Test("refusals name the problem and never the password")
    func refused() {
        let cases = [
            "postgres://sb:hunter2@h:99999/gw",
            "postgres://sb:hunter2@h/gw?sslmode=sometimes",
            "postgres://sb:hunter2@h/gw?application_name=x",
            "postgres://sb:hunter2@h",
            "postgres://:hunter2@h/gw",
            "postgres://sb:hun/ter2@h:x/gw",
            "mysql://sb:hunter2@h/gw",
            "",
        ]
        for value in cases {
            do {
                _ = try DatabaseLocation(parsing: value)
                Issue.record("accepted \(value)")
            } catch {
                #expect(!error.description.contains("hunter2"), "\(error.description)")
                #expect(!error.description.contains("ter2"), "\(error.description)")
                #expect(!error.description.isEmpty)
            }
        }
    }
}
