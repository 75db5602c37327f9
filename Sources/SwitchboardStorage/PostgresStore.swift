import Foundation
import Logging
import NIOSSL
import PostgresNIO
import SwitchboardCore
import Synchronization

/// The store for several instances: one PostgreSQL database shared by every gateway process,
/// through postgres-nio's bounded connection pool.
///
/// What makes several instances safe is PostgreSQL's own: provider message ids are a primary key
/// (a retry that lands on the other instance waits for the first commit, then finds it); the outbox
/// and the bot-delivery queue are claimed with `FOR UPDATE SKIP LOCKED` and leased with an expiry
/// and a claim id; pacing is a row per channel that each claim locks and charges in its one statement; live updates
/// cross instances with `LISTEN`/`NOTIFY` (`PostgresEventRelay`); migrations run under an advisory
/// lock. Times are milliseconds since 1970 in BIGINT columns, as on SQLite.
public final class PostgresStore: MessageStore {
    /// A channel's pace for the whole deployment: the token bucket is a row in `channel_pacing`.
    public struct SharedPace: Sendable, Equatable {
        public var perSecond: Double
        public var burst: Int

        public init(perSecond: Double, burst: Int) {
            self.perSecond = perSecond
            self.burst = burst
        }
    }

    public let location: PostgresLocation
    let client: PostgresClient
    let logger: Logger
    let pacing: [SwitchboardCore.Channel: SharedPace]
    /// How long a call may wait for the database before it fails as unavailable.
    let deadlineSeconds: Double
    private let runner: Task<Void, Never>

    private init(location: PostgresLocation, client: PostgresClient, pacing: [SwitchboardCore.Channel: SharedPace], deadlineSeconds: Double, logger: Logger) {
        self.location = location
        self.client = client
        self.pacing = pacing
        self.deadlineSeconds = deadlineSeconds
        self.logger = logger
        self.runner = Task { await client.run() }
    }

    /// Connects (failing with one line naming the host and port when the server cannot be reached)
    /// and applies pending migrations, once for all instances starting together.
    public static func open(
        _ location: PostgresLocation, poolSize: Int = 10, pacing: [SwitchboardCore.Channel: SharedPace] = [:], deadlineSeconds: Double = 5,
        migrate: Bool = true, logger: Logger = Logger(label: "switchboard.storage")
    ) async throws -> PostgresStore {
        // One connection first, so a wrong password or a server that is not there is reported as
        // such, at once, rather than as the pool's timeout.
        do {
            try await probe(location, timeoutSeconds: deadlineSeconds)
        } catch {
            throw PostgresStoreError.unreachable(endpoint: location.endpoint, database: location.database, reason: Self.describe(error))
        }
        var configuration = PostgresClient.Configuration(
            host: location.host, port: location.port, username: location.username, password: location.password,
            database: location.database, tls: try tls(for: location))
        configuration.options.maximumConnections = max(1, poolSize)
        configuration.options.minimumConnections = 0
        configuration.options.connectTimeout = .seconds(Int64(max(1, deadlineSeconds.rounded(.up))))
        // postgres-nio's own messages (a connection attempt that failed, at info, repeated while the
        // server is away) only from errors up: the store reports outages itself (readiness, 503s).
        // The password is never among them.
        var backgroundLogger = logger
        backgroundLogger.logLevel = max(logger.logLevel, .error)
        backgroundLogger[metadataKey: "database"] = "\(location.endpoint)"
        let client = PostgresClient(configuration: configuration, backgroundLogger: backgroundLogger)
        let store = PostgresStore(location: location, client: client, pacing: pacing, deadlineSeconds: deadlineSeconds, logger: logger)
        do {
            try await store.checkReadiness()
            if migrate { try await store.migrate() }
        } catch {
            await store.close()
            throw PostgresStoreError.unreachable(endpoint: location.endpoint, database: location.database, reason: Self.describe(error))
        }
        return store
    }

    /// Opens and closes one connection with the location's settings.
    static func probe(_ location: PostgresLocation, timeoutSeconds: Double) async throws {
        var quiet = Logger(label: "switchboard.storage.probe")
        quiet.logLevel = .critical
        let connection = try await PostgresConnection.connect(
            configuration: try connectionConfiguration(location, timeoutSeconds: timeoutSeconds), id: 0, logger: quiet)
        try await connection.close()
    }

    /// One connection's settings (outside the pool: the startup probe, the listener).
    static func connectionConfiguration(_ location: PostgresLocation, timeoutSeconds: Double) throws -> PostgresConnection.Configuration {
        let tls: PostgresConnection.Configuration.TLS = switch location.sslMode {
        case .disable: .disable
        case .allow, .prefer: .prefer(try NIOSSLContext(configuration: tlsSettings(for: location)))
        case .require, .verifyCA, .verifyFull: .require(try NIOSSLContext(configuration: tlsSettings(for: location)))
        }
        var configuration = PostgresConnection.Configuration(
            host: location.host, port: location.port, username: location.username, password: location.password,
            database: location.database, tls: tls)
        configuration.options.connectTimeout = .milliseconds(Int64(max(1, timeoutSeconds) * 1000))
        return configuration
    }

    /// swift-nio-ssl's settings for the location's `sslmode`.
    static func tlsSettings(for location: PostgresLocation) throws -> TLSConfiguration {
        var tls = TLSConfiguration.makeClientConfiguration()
        switch location.sslMode {
        case .disable, .allow, .prefer, .require: tls.certificateVerification = .none
        case .verifyCA: tls.certificateVerification = .noHostnameVerification
        case .verifyFull: break
        }
        return tls
    }

    static func tls(for location: PostgresLocation) throws -> PostgresClient.Configuration.TLS {
        switch location.sslMode {
        case .disable: .disable
        case .allow, .prefer: .prefer(try tlsSettings(for: location))
        case .require, .verifyCA, .verifyFull: .require(try tlsSettings(for: location))
        }
    }

    /// What went wrong talking to the server, without the query's values or the password.
    static func describe(_ error: any Error) -> String {
        if let error = error as? PostgresStoreError { return error.description }
        if let error = error as? PSQLError {
            if let message = error.serverInfo?[.message] { return message }
            if let underlying = error.underlying { return "\(underlying)" }
            return "\(error.code)"
        }
        return "\(error)"
    }

    public func close() async {
        runner.cancel()
        _ = await runner.value
    }

    deinit {
        runner.cancel()
    }

    // MARK: Running queries

    /// Runs `work` with a deadline: a database that does not answer makes the call fail as
    /// `PostgresStoreError.unavailable` instead of holding a request (a webhook answers 503).
    func withDeadline<T: Sendable>(_ work: @escaping @Sendable () async throws -> T) async throws -> T {
        let endpoint = location.endpoint
        let seconds = deadlineSeconds
        let race = DeadlineRace<T>()
        return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            race.start(continuation)
            let worker = Task {
                do { _ = race.finish(.success(try await work())) } catch { _ = race.finish(.failure(error)) }
            }
            let timer = Task {
                try? await Task.sleep(for: .seconds(seconds))
                guard !Task.isCancelled else { return }
                if race.finish(.failure(PostgresStoreError.unavailable(endpoint: endpoint))) { worker.cancel() }
            }
            Task {
                _ = await worker.value
                timer.cancel()
            }
        }
    }

    /// Runs `work` in a transaction (BEGIN … COMMIT, rolled back when it throws), with a deadline.
    func transaction<T: Sendable>(_ work: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        let (client, logger) = (client, logger)
        return try await withDeadline {
            do {
                return try await client.withTransaction(logger: logger) { connection in try await work(connection) }
            } catch let error as PostgresTransactionError {
                // Rolled back: the caller wants the reason (a lost lease, a database error), not the wrapper.
                throw error.closureError ?? error.commitError ?? error.beginError ?? error.rollbackError ?? error
            }
        }
    }

    /// A transaction without a deadline (migrations, tools).
    func untimedTransaction<T: Sendable>(_ work: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        do {
            return try await client.withTransaction(logger: logger) { connection in try await work(connection) }
        } catch let error as PostgresTransactionError {
            throw error.closureError ?? error.commitError ?? error.beginError ?? error.rollbackError ?? error
        }
    }

    /// Runs one read (or one statement) outside a transaction, with a deadline.
    func read<T: Sendable>(_ work: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        let client = client
        return try await withDeadline {
            try await client.withConnection { connection in try await work(connection) }
        }
    }

    public func checkReadiness() async throws {
        let logger = logger
        _ = try await read { connection in try await connection.query("SELECT 1", logger: logger).collect() }
    }

    // MARK: Migrations

    /// Applies pending migrations in one transaction under an advisory lock, so instances starting
    /// together migrate once (the others wait, then find nothing to do).
    public func migrate() async throws {
        let logger = logger
        // No deadline: building an index on a large table, or waiting for another instance's
        // migration, takes as long as it takes.
        let applied: [String] = try await untimedTransaction { connection in
            _ = try await connection.query("SELECT pg_advisory_xact_lock(\(PostgresMigrations.advisoryLockKey))", logger: logger).collect()
            _ = try await connection.query("""
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    name TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())
                """, logger: logger).collect()
            var done = Set<String>()
            for try await name in try await connection.query("SELECT name FROM schema_migrations", logger: logger).decode(String.self) {
                done.insert(name)
            }
            var applied: [String] = []
            for migration in PostgresMigrations.all where !done.contains(migration.name) {
                for statement in migration.statements {
                    _ = try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger).collect()
                }
                _ = try await connection.query("INSERT INTO schema_migrations (name) VALUES (\(migration.name))", logger: logger).collect()
                applied.append(migration.name)
            }
            return applied
        }
        if !applied.isEmpty {
            logger.info("database migrated", metadata: ["database": "\(location.endpoint)", "applied": "\(applied)"])
        }
    }

    public func appliedMigrations() async throws -> [String] {
        let logger = logger
        return try await read { connection in
            var names: [String] = []
            let rows = try await connection.query("SELECT name FROM schema_migrations ORDER BY applied_at, name", logger: logger)
            for try await name in rows.decode(String.self) { names.append(name) }
            let order = PostgresMigrations.all.map(\.name)
            return names.sorted { (order.firstIndex(of: $0) ?? .max) < (order.firstIndex(of: $1) ?? .max) }
        }
    }

    // MARK: Databases (tests and benchmarks)

    /// Creates (`create: true`) or drops a database on the server `location` points to, through its
    /// own database: tests and benchmarks get a fresh one each. `name` is letters, digits and `_`.
    public static func administer(database name: String, create: Bool, at location: PostgresLocation, logger: Logger) async throws {
        guard !name.isEmpty, name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }) else {
            throw DatabaseLocationError("'\(name)' is not a plain database name")
        }
        let store = try await open(location, poolSize: 1, migrate: false, logger: logger)
        defer { Task { await store.close() } }
        let statement = create ? "CREATE DATABASE \(name)" : "DROP DATABASE IF EXISTS \(name) WITH (FORCE)"
        _ = try await store.read { connection in
            try await connection.rows(PostgresQuery(unsafeSQL: statement), logger)
        }
    }

    /// Runs statements written by the project's own tools (the benchmarks' bulk seeding) in one
    /// transaction, without a deadline; never SQL that holds outside input.
    public func runMaintenanceSQL(_ statements: [String]) async throws {
        let logger = logger
        try await untimedTransaction { connection in
            for statement in statements { _ = try await connection.rows(PostgresQuery(unsafeSQL: statement), logger) }
        }
    }

    /// `VACUUM (ANALYZE)` of the whole database, outside any transaction (tools and benchmarks:
    /// after a bulk load, what autovacuum would do in the following minutes, done at once).
    public func vacuumAnalyze() async throws {
        let logger = logger
        try await client.withConnection { connection in
            _ = try await connection.rows("VACUUM (ANALYZE)", logger)
        }
    }

    // MARK: Secrets

    public func secret(named name: String, create: @escaping @Sendable () -> String) async throws -> String {
        let candidate = create()
        let now = Timestamp.millis(Date())
        let logger = logger
        return try await transaction { connection in
            _ = try await connection.query("""
                INSERT INTO gateway_secrets (name, value, created_at) VALUES (\(name), \(candidate), \(now)) ON CONFLICT DO NOTHING
                """, logger: logger).collect()
            let rows = try await connection.query("SELECT value FROM gateway_secrets WHERE name = \(name)", logger: logger)
            for try await value in rows.decode(String.self) { return value }
            return candidate
        }
    }
}

/// A call and its deadline: whichever ends first resumes the caller, once.
final class DeadlineRace<T: Sendable>: Sendable {
    private let waiting = Mutex<CheckedContinuation<T, any Error>?>(nil)

    func start(_ continuation: CheckedContinuation<T, any Error>) {
        waiting.withLock { $0 = continuation }
    }

    /// Resumes the caller with `result` unless it was resumed already; true when this call did.
    func finish(_ result: Result<T, any Error>) -> Bool {
        guard let continuation = waiting.withLock({ current -> CheckedContinuation<T, any Error>? in
            defer { current = nil }
            return current
        }) else { return false }
        continuation.resume(with: result)
        return true
    }
}

/// Failures reaching PostgreSQL, safe to print: they name the host and port, never the password.
public enum PostgresStoreError: Error, Sendable, CustomStringConvertible {
    /// At startup: the server could not be reached or refused us.
    case unreachable(endpoint: String, database: String, reason: String)
    /// While running: the database did not answer in time.
    case unavailable(endpoint: String)
    /// The database answered something the schema rules out (a function without its row).
    case unexpectedAnswer(String)

    public var description: String {
        switch self {
        case .unreachable(let endpoint, let database, let reason):
            "cannot use PostgreSQL at \(endpoint) (database \(database)): \(reason)"
        case .unavailable(let endpoint):
            "PostgreSQL at \(endpoint) did not answer in time"
        case .unexpectedAnswer(let what):
            "unexpected answer from PostgreSQL: \(what)"
        }
    }
}

/// `LISTEN`/`NOTIFY` on the channel `switchboard_events`.
extension PostgresStore: CrossInstanceNotifications {
    static let notificationChannel = "switchboard_events"

    public func notifyInstances(_ payload: String) async throws {
        let logger = logger
        _ = try await read { connection in
            try await connection.rows("SELECT pg_notify(\(Self.notificationChannel), \(payload))", logger)
        }
    }

    public func listenToInstances(_ handle: @escaping @Sendable (String) async -> Void) async {
        var delay = 0.25
        while !Task.isCancelled {
            do {
                // A connection of its own, outside the pool: listening holds it for as long as it
                // lives, and the pool's connections stay for queries (a pool of one still works).
                var quiet = logger
                quiet.logLevel = max(logger.logLevel, .error)
                let connection = try await PostgresConnection.connect(
                    configuration: try Self.connectionConfiguration(location, timeoutSeconds: deadlineSeconds), id: 1, logger: quiet)
                defer { Task { try? await connection.close() } }
                try await withTaskCancellationHandler {
                    try await connection.listen(on: Self.notificationChannel) { notifications in
                        delay = 0.25
                        for try await notification in notifications { await handle(notification.payload) }
                    }
                } onCancel: {
                    Task { try? await connection.close() }
                }
            } catch {
                guard !Task.isCancelled else { return }
                logger.warning("listening to the other instances failed; listening again", metadata: [
                    "database": "\(location.endpoint)", "error": "\(Self.describe(error))", "retry_in_seconds": "\(delay)",
                ])
            }
            try? await Task.sleep(for: .seconds(delay))
            delay = min(delay * 2, 5)
        }
    }
}
