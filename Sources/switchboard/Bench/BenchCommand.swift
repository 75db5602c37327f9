import ArgumentParser
import Foundation
import SwitchboardStorage
import Logging

/// `switchboard bench …`: the load drivers `scripts/bench` runs (docs/performance.md). Each starts
/// the gateway as a separate process from the given binary, plays the providers with an in-process
/// simulator, and prints one result line (`RESULT name key=value …`) for the script's table.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmarks: end-to-end latency, outbound relay, scale (used by scripts/bench).",
        subcommands: [LatencyBenchmark.self, OutboundBenchmark.self, ScaleBenchmark.self])
}

/// Options every benchmark takes.
struct BenchOptions: ParsableArguments {
    @Option(help: "The gateway binary to start (a release build).")
    var binary: String

    @Option(help: "The gateway configuration (simulator-ready credentials; Benchmarks/bench.json).")
    var config: String = "Benchmarks/bench.json"

    @Option(help: "A scratch directory for the database and logs.")
    var work: String

    @Option(help: "The gateway's port.")
    var gatewayPort: Int = 18180

    @Option(help: "The simulator's port.")
    var simulatorPort: Int = 18190

    @Option(help: "A PostgreSQL server (postgres://…): each benchmark runs on a fresh database there instead of a SQLite file.")
    var postgres: String?
}

/// Where one benchmark keeps its data: a SQLite file in the scratch directory, or a fresh database
/// on the `--postgres` server.
struct BenchDatabase {
    /// `SWITCHBOARD_DATABASE` for the gateway processes.
    let setting: String
    let postgres: PostgresLocation?
    let sqlitePath: String?

    init(_ options: BenchOptions, name: String) async throws {
        if let server = options.postgres {
            guard case .postgres(var location) = try DatabaseLocation(parsing: server) else {
                throw ValidationError("--postgres: a postgres:// URL")
            }
            let logger = Logger(label: "bench")
            let database = "bench_" + name.replacingOccurrences(of: "-", with: "_")
            try await PostgresStore.administer(database: database, create: false, at: location, logger: logger)
            try await PostgresStore.administer(database: database, create: true, at: location, logger: logger)
            location.database = database
            setting = location.connectionURL
            postgres = location
            sqlitePath = nil
        } else {
            let path = options.work + "/\(name).sqlite"
            setting = "sqlite:" + path
            postgres = nil
            sqlitePath = path
        }
    }

    /// The store, opened (and migrated) here, for seeding before the gateway starts.
    func open(poolSize: Int = 32) async throws -> any MessageStore {
        if let postgres { return try await PostgresStore.open(postgres, poolSize: poolSize) }
        return try SQLiteStore(path: sqlitePath ?? "")
    }

    /// The database's size on disk, MiB (the file; PostgreSQL's `pg_database_size` is not read here).
    var mebibytes: Double {
        guard let sqlitePath else { return 0 }
        return Double((try? FileManager.default.attributesOfItem(atPath: sqlitePath)[.size] as? Int) ?? 0) / 1_048_576
    }
}

/// Percentiles of a sample, in the sample's unit.
struct Percentiles {
    let sorted: [Double]

    init(_ values: [Double]) {
        sorted = values.sorted()
    }

    func at(_ percent: Double) -> Double {
        guard !sorted.isEmpty else { return .nan }
        let index = Swift.min(sorted.count - 1, Swift.max(0, Int((percent / 100 * Double(sorted.count)).rounded(.up)) - 1))
        return sorted[index]
    }

    var max: Double { sorted.last ?? .nan }

    /// `p50_ms=… p99_ms=… max_ms=…` from seconds.
    var milliseconds: String {
        String(format: "p50_ms=%.2f p99_ms=%.2f max_ms=%.2f", at(50) * 1000, at(99) * 1000, max * 1000)
    }
}
