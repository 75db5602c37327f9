/// When the SQLite store's background indexer takes the contacts noted for search into the trigram
/// index, and how many per transaction. Pure, so it is tested without a database.
///
/// An indexing chunk runs in a group commit shared with webhook writes, so every write in that
/// group waits for it (about 20 ms for 2,000 contacts). While the writer is quiet, the backlog is
/// taken in whole chunks. While webhooks keep it busy, indexing waits, unless the backlog (which
/// every search reads row by row, about 0.5 µs a contact) passes `backlogLimit`.
///
/// Smaller chunks do not make busy indexing cheaper: FTS5 writes a segment per transaction and
/// merges them later. Measured on this machine: chunks of 250 while busy lowered ingest by 10%
/// against chunks of 2,000 (docs/performance.md).
public struct SearchIndexingPace: Sendable, Equatable {
    /// Noted contacts beyond which indexing goes ahead even while the writer is busy.
    public var backlogLimit: Int
    /// Contacts per transaction.
    public var chunk: Int
    /// How long the writer must have had no webhook work to count as quiet.
    public var quietAfter: Duration

    /// At the limit a search reads 100,000 noted contacts directly: about 54 ms on this machine for
    /// contacts without attributes, up to about 90 ms for contacts with them.
    public static let standard = SearchIndexingPace(backlogLimit: 100_000, chunk: 2_000, quietAfter: .milliseconds(500))

    public init(backlogLimit: Int, chunk: Int, quietAfter: Duration) {
        self.backlogLimit = max(0, backlogLimit)
        self.chunk = max(1, chunk)
        self.quietAfter = quietAfter
    }

    /// The number of contacts to index in the next transaction, or 0 to stop for now.
    /// - Parameters:
    ///   - backlog: contacts noted and not yet indexed.
    ///   - writerQuietFor: how long the writer has had no webhook work (zero while busy).
    ///   - onlyWhenQuiet: false when asked for explicitly (tools, tests): index everything.
    public func nextChunk(backlog: Int, writerQuietFor: Duration, onlyWhenQuiet: Bool = true) -> Int {
        guard backlog > 0 else { return 0 }
        if !onlyWhenQuiet || writerQuietFor >= quietAfter || backlog > backlogLimit { return min(backlog, chunk) }
        return 0
    }
}
