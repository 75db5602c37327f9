import Foundation
import Synchronization

/// At most `perMinute` operations per client address in any minute (a token bucket per address that
/// refills at `perMinute` a minute). Used where anyone may ask without credentials: web-chat sessions.
public final class ClientRateLimiter: Sendable {
    public let perMinute: Int
    private let buckets = Mutex<[String: Bucket]>([:])
    /// Addresses tracked at most; when full, buckets that have refilled completely are dropped (they
    /// hold nothing a fresh bucket would not).
    private let maxTracked = 100_000

    struct Bucket {
        var tokens: Double
        var updated: Date
    }

    public init(perMinute: Int) {
        self.perMinute = perMinute
    }

    /// Takes one token for `client`; nil when allowed, else the seconds until the next token.
    public func take(_ client: String, now: Date = Date()) -> Int? {
        let capacity = Double(perMinute)
        let perSecond = capacity / 60
        return buckets.withLock { buckets in
            var bucket = buckets[client] ?? Bucket(tokens: capacity, updated: now)
            bucket.tokens = min(capacity, bucket.tokens + max(0, now.timeIntervalSince(bucket.updated)) * perSecond)
            bucket.updated = now
            guard bucket.tokens >= 1 else {
                buckets[client] = bucket
                return max(1, Int(((1 - bucket.tokens) / perSecond).rounded(.up)))
            }
            bucket.tokens -= 1
            if buckets.count >= maxTracked, buckets[client] == nil {
                buckets = buckets.filter { $0.value.tokens + now.timeIntervalSince($0.value.updated) * perSecond < capacity }
            }
            buckets[client] = bucket
            return nil
        }
    }
}
