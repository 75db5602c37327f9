import PostgresNIO
import SwitchboardCore

/// A channel's deployment-wide token bucket (its `channel_pacing` row) as read, refilled to now.
struct SharedBucket: Sendable, Equatable {
    var channel: SwitchboardCore.Channel
    /// Tokens available now: what the row holds plus what the time since its refill added, at most
    /// the burst.
    var available: Double
    /// What the row's `refilled_at` becomes (never earlier than it was: instance clocks differ).
    var refilledAt: Int64

    init(channel: SwitchboardCore.Channel, tokens: Double, refilledAt: Int64, pace: PostgresStore.SharedPace, now: Int64) {
        self.channel = channel
        let elapsed = Double(max(0, now - refilledAt)) / 1000
        available = min(Double(max(1, pace.burst)), tokens + elapsed * pace.perSecond)
        self.refilledAt = max(now, refilledAt)
    }

    /// How many rows a claim may take of the `wanted`: the whole tokens available.
    func granting(_ wanted: Int) -> Int {
        guard available >= 1 else { return 0 }
        return max(0, min(wanted, Int(available.rounded(.down))))
    }
}

/// One claim of due outbox rows, as one statement: every batch (the unpaced channels together,
/// each channel with a limit alone) taken with `FOR UPDATE SKIP LOCKED` and leased to `claimId`,
/// the paced channels' buckets charged for the rows they got, the messages marked `sending`
/// (locked in id order, as every batch here, so concurrent claims cannot deadlock), and what a send
/// needs read with them: one round trip instead of six to ten.
struct OutboxClaim: Sendable {
    /// A channel claimed on its own, up to `count` rows; `bucket` when a deployment-wide pace applies.
    struct Limited: Sendable {
        var channel: SwitchboardCore.Channel
        var count: Int
        var bucket: SharedBucket?
    }

    var claimId: String
    var now: Int64
    var leaseEnd: Int64
    /// Channels without a limit, claimed together up to `limit` rows.
    var unpaced: [String]
    var limit: Int
    var limited: [Limited] = []

    var query: PostgresQuery {
        var binds = PostgresBindings()
        func bind(_ value: some PostgresDynamicTypeEncodable) -> String {
            binds.append(value)
            return "$\(binds.count)"
        }
        let (now, leaseEnd, claimId) = (bind(self.now), bind(self.leaseEnd), bind(self.claimId))
        var batches: [(channels: String, count: Int)] = []
        if limit > 0, !unpaced.isEmpty { batches.append((bind(unpaced), limit)) }
        for batch in limited where batch.count > 0 { batches.append((bind([batch.channel.rawValue]), batch.count)) }
        var ctes: [String] = []
        for (index, batch) in batches.enumerated() {
            ctes.append("""
                due\(index) AS (
                    SELECT message_id FROM outbox WHERE channel = ANY(\(batch.channels)) AND next_attempt_at <= \(now)
                    ORDER BY next_attempt_at, message_id LIMIT \(bind(batch.count)) FOR UPDATE SKIP LOCKED)
                """)
        }
        let due = batches.isEmpty
            ? "SELECT NULL::text AS message_id WHERE false"
            : batches.indices.map { "SELECT message_id FROM due\($0)" }.joined(separator: " UNION ALL ")
        ctes.append("""
            claimed AS (
                UPDATE outbox o SET next_attempt_at = \(leaseEnd), attempts = o.attempts + 1,
                    outcome_unknown_since = COALESCE(o.outcome_unknown_since, o.attempt_started_at),
                    attempt_started_at = \(now), claim_id = \(claimId)
                FROM (\(due)) due WHERE o.message_id = due.message_id
                RETURNING o.message_id, o.channel, o.recipient, o.attempts, o.outcome_unknown_since)
            """)
        for (index, bucket) in limited.compactMap(\.bucket).enumerated() {
            let channel = bind(bucket.channel.rawValue)
            ctes.append("""
                paced\(index) AS (
                    UPDATE channel_pacing SET tokens = \(bind(bucket.available)) - (SELECT count(*) FROM claimed WHERE channel = \(channel)),
                        refilled_at = \(bind(bucket.refilledAt))
                    WHERE channel = \(channel))
                """)
        }
        ctes.append("""
            sending AS (
                UPDATE messages SET status = 'sending', updated_at = \(now)
                WHERE id IN (SELECT id FROM messages WHERE id IN (SELECT message_id FROM claimed) AND status = 'queued' ORDER BY id FOR UPDATE))
            """)
        let sql = """
            WITH \(ctes.joined(separator: ",\n"))
            SELECT cl.message_id, cl.channel, cl.recipient, cl.attempts, cl.outcome_unknown_since,
                   m.contact_id, m.content, m.author_kind, c.phone,
                   COALESCE((SELECT subscribed FROM subscriptions s WHERE s.contact_id = m.contact_id AND s.channel = cl.channel), true) AS subscribed,
                   (SELECT window_open_until FROM contact_channels cc
                     WHERE cc.contact_id = m.contact_id AND cc.channel = 'messenger' AND cc.address = cl.recipient) AS window_open_until
            FROM claimed cl JOIN messages m ON m.id = cl.message_id JOIN contacts c ON c.id = m.contact_id
            ORDER BY cl.message_id
            """
        return PostgresQuery(unsafeSQL: sql, binds: binds)
    }
}
