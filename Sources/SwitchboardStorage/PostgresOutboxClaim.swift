import PostgresNIO
import SwitchboardCore

/// One claim of due outbox rows, as one statement (one round trip, was six to ten): every batch
/// (the unpaced channels together, each channel with a limit alone) taken with `FOR UPDATE SKIP
/// LOCKED` and leased to `claimId`, the messages marked `sending` (locked in id order, as every
/// batch here, so concurrent claims cannot deadlock), and what a send needs read with them.
///
/// A channel with a deployment-wide pace takes at most the whole tokens of its bucket (its
/// `channel_pacing` row, locked first, so instances take turns; refilled at `perSecond` since
/// `refilled_at`, up to `burst`), and the bucket is charged for the rows the batch got. The
/// refill is the token bucket `SendPacer` keeps per instance, written in SQL so that reading,
/// claiming and charging are one statement.
struct OutboxClaim: Sendable {
    /// A channel claimed on its own, up to `count` rows; `pace` when a deployment-wide one applies.
    struct Limited: Sendable {
        var channel: SwitchboardCore.Channel
        var count: Int
        var pace: PostgresStore.SharedPace?
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
        var ctes: [String] = []
        var batches: [(channels: String, limit: String)] = []
        if limit > 0, !unpaced.isEmpty { batches.append((bind(unpaced), bind(limit))) }
        // The paced buckets, each locked and refilled to now: `available` tokens.
        var buckets: [(channel: String, cte: String)] = []
        for batch in limited {
            guard batch.count > 0 else { continue }
            let channel = bind(batch.channel.rawValue)
            guard let pace = batch.pace else {
                batches.append((channel.asArray, bind(batch.count)))
                continue
            }
            let cte = "bucket\(buckets.count)"
            ctes.append("""
                \(cte) AS (
                    SELECT LEAST(\(bind(Double(max(1, pace.burst)))), tokens + GREATEST(0, \(now) - refilled_at) / 1000.0 * \(bind(pace.perSecond)))
                        AS available
                    FROM channel_pacing WHERE channel = \(channel) FOR UPDATE)
                """)
            buckets.append((channel, cte))
            // No bucket row (never: the store creates them on opening) grants nothing.
            batches.append((channel.asArray, "COALESCE((SELECT GREATEST(0, LEAST(\(bind(batch.count)), floor(available)))::int FROM \(cte)), 0)"))
        }
        for (index, batch) in batches.enumerated() {
            ctes.append("""
                due\(index) AS (
                    SELECT message_id FROM outbox WHERE channel = ANY(\(batch.channels)) AND next_attempt_at <= \(now)
                    ORDER BY next_attempt_at, message_id LIMIT \(batch.limit) FOR UPDATE SKIP LOCKED)
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
        for bucket in buckets {
            ctes.append("""
                paced_\(bucket.cte) AS (
                    UPDATE channel_pacing SET
                        tokens = (SELECT available FROM \(bucket.cte)) - (SELECT count(*) FROM claimed WHERE channel = \(bucket.channel)),
                        refilled_at = GREATEST(\(now), refilled_at)
                    WHERE channel = \(bucket.channel))
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

private extension String {
    /// A bound channel name as a one-element array, for `= ANY(...)`.
    var asArray: String { "ARRAY[\(self)]" }
}
