import GRDB
import Synchronization

/// Runs the writes of concurrent callers in shared transactions, so that one commit (one fsync of
/// the WAL) makes many of them durable: group commit.
///
/// A batch runs every piece of work in one transaction. When one of them throws, the whole batch
/// is rolled back and each piece is run again in a transaction of its own, so a failure stays with
/// its caller. Work may therefore run more than once, and must do nothing but database work.
/// Callers resume only after the transaction holding their work has committed, or with its error:
/// nothing is acknowledged before it is on disk.
public final class GroupCommitWriter: Sendable {
    private struct Job: Sendable {
        /// Runs the work; returns what to do once its transaction has committed.
        let run: @Sendable (Database) throws -> @Sendable () -> Void
        /// Resumes the caller with a failure.
        let fail: @Sendable (any Error) -> Void
        /// Not background upkeep: its end resets `quietFor`.
        let isActivity: Bool
    }

    private struct State {
        var pending: [Job] = []
        var draining = false
        /// When the last write that counts as activity was asked for or ended.
        var lastActivity = ContinuousClock.now
    }

    private let writer: any DatabaseWriter
    private let state = Mutex(State())
    private let maxBatch: Int

    /// - Parameter maxBatch: at most this many pieces of work share one transaction.
    public init(writer: any DatabaseWriter, maxBatch: Int = 512) {
        self.writer = writer
        self.maxBatch = maxBatch
    }

    /// How long no write that counts as activity was asked for and none is running: zero while
    /// busy. Background upkeep (search indexing) waits for a quiet moment so as not to hold up
    /// the commits that acknowledge webhooks.
    public var quietFor: Duration {
        state.withLock { state in
            state.draining || !state.pending.isEmpty ? .zero : ContinuousClock.now - state.lastActivity
        }
    }

    /// Runs `work` inside a transaction shared with other callers and returns its result once that
    /// transaction has committed. `isActivity: false` marks background upkeep, which does not reset
    /// `quietFor`.
    public func write<T: Sendable>(
        isActivity: Bool = true, _ work: @escaping @Sendable (Database) throws -> T
    ) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let job = Job(
                run: { db in
                    let value = try work(db)
                    return { continuation.resume(returning: value) }
                },
                fail: { error in continuation.resume(throwing: error) },
                isActivity: isActivity)
            let startDrain = state.withLock { state -> Bool in
                state.pending.append(job)
                if isActivity { state.lastActivity = .now }
                if state.draining { return false }
                state.draining = true
                return true
            }
            if startDrain {
                scheduleBatch()
            }
        }
    }

    /// Errors of the database rather than of one job's work.
    static func refusesEveryJob(_ error: any Error) -> Bool {
        guard let error = error as? DatabaseError else { return false }
        switch error.resultCode {
        case .SQLITE_BUSY, .SQLITE_LOCKED, .SQLITE_FULL, .SQLITE_IOERR, .SQLITE_READONLY, .SQLITE_CANTOPEN, .SQLITE_CORRUPT,
             .SQLITE_NOTADB, .SQLITE_NOMEM:
            return true
        default:
            return false
        }
    }

    /// Runs the next batch on the writer's own queue. Batches follow each other there directly,
    /// each queued behind whatever else the writer was asked to do meanwhile: no task hops
    /// between the commit and the callers' resumption (measured: the gateway's CPU per webhook).
    private func scheduleBatch() {
        writer.asyncWriteWithoutTransaction { db in self.runBatch(db) }
    }

    /// One shared transaction of waiting work, then the next batch is scheduled, or the writer
    /// stops draining when nothing waits.
    private func runBatch(_ db: Database) {
        let jobs = state.withLock { state -> [Job] in
            if state.pending.isEmpty {
                state.draining = false
                return []
            }
            let count = min(state.pending.count, maxBatch)
            let batch = Array(state.pending.prefix(count))
            state.pending.removeFirst(count)
            return batch
        }
        if jobs.isEmpty { return }
        defer {
            // Quiet is counted from the end of the last activity, however long its commit took.
            if jobs.contains(where: \.isActivity) { state.withLock { $0.lastActivity = .now } }
            scheduleBatch()
        }
        do {
            var completions: [@Sendable () -> Void] = []
            try db.inTransaction {
                completions = try jobs.map { try $0.run(db) }
                return .commit
            }
            for completion in completions { completion() }
        } catch {
            // The database itself refused (locked past the busy timeout, disk full, I/O):
            // every job would meet the same refusal again, each after its own wait, and a
            // webhook's answer would come after the provider gave up. Fail them all now.
            if Self.refusesEveryJob(error) {
                // The jobs that queued up meanwhile would each wait out the same lock: they
                // fail now too, and what arrives later tries afresh.
                let waiting = state.withLock { state -> [Job] in
                    defer { state.pending.removeAll() }
                    return state.pending
                }
                for job in jobs + waiting { job.fail(error) }
                return
            }
            if jobs.count == 1 {
                jobs[0].fail(error)
                return
            }
            // Someone's work failed (or the commit did): give each its own transaction and outcome.
            for job in jobs {
                do {
                    var completion: (@Sendable () -> Void)?
                    try db.inTransaction {
                        completion = try job.run(db)
                        return .commit
                    }
                    completion?()
                } catch {
                    job.fail(error)
                }
            }
        }
    }
}
