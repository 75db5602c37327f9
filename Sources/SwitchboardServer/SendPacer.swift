import Foundation
import SwitchboardCore
import Synchronization

/// Token buckets per channel (one sender per channel here, so also per sender): a burst waits in
/// the outbox and drains at the allowed rate instead of meeting 429s or carrier filtering.
public final class SendPacer: Sendable {
    struct Bucket {
        var tokens: Double
        var updated: Date
        let pace: GatewayConfiguration.Pace
    }

    private let buckets: Mutex<[Channel: Bucket]>

    public init(pacing: [String: GatewayConfiguration.Pace], now: Date = Date()) {
        var buckets: [Channel: Bucket] = [:]
        for (name, pace) in pacing {
            guard let channel = Channel(rawValue: name), pace.perSecond > 0 else { continue }
            buckets[channel] = Bucket(tokens: Double(max(1, pace.burst)), updated: now, pace: pace)
        }
        self.buckets = Mutex(buckets)
    }

    /// Takes up to `wanted` tokens for the channel and returns how many it got (all, for an unpaced channel).
    public func take(_ wanted: Int, for channel: Channel, now: Date = Date()) -> Int {
        buckets.withLock { buckets in
            guard var bucket = buckets[channel] else { return wanted }
            let elapsed = max(0, now.timeIntervalSince(bucket.updated))
            bucket.tokens = min(Double(max(1, bucket.pace.burst)), bucket.tokens + elapsed * bucket.pace.perSecond)
            bucket.updated = now
            let granted = min(wanted, Int(bucket.tokens.rounded(.down)))
            bucket.tokens -= Double(granted)
            buckets[channel] = bucket
            return granted
        }
    }

    /// Gives back tokens that were taken but not used.
    public func giveBack(_ count: Int, for channel: Channel) {
        guard count > 0 else { return }
        buckets.withLock { buckets in
            guard var bucket = buckets[channel] else { return }
            bucket.tokens = min(Double(max(1, bucket.pace.burst)), bucket.tokens + Double(count))
            buckets[channel] = bucket
        }
    }

    /// Channels that are paced.
    public var pacedChannels: Set<Channel> {
        buckets.withLock { Set($0.keys) }
    }

    private let pauses = Mutex<[Channel: Date]>([:])

    /// The provider asked for a pause (a 429 or 503 with `Retry-After`): nothing more is claimed for
    /// the channel before `until`. Twilio's 429 (error 20429) is about the whole account, not the
    /// one message, so the other queued messages wait too instead of meeting the same refusal.
    public func pause(_ channel: Channel, until: Date) {
        pauses.withLock { pauses in pauses[channel] = max(pauses[channel] ?? until, until) }
    }

    /// Channels paused at `now`.
    public func pausedChannels(now: Date) -> Set<Channel> {
        pauses.withLock { pauses in
            pauses = pauses.filter { $0.value > now }
            return Set(pauses.keys)
        }
    }
}
