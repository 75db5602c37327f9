import Foundation

/// A token bucket for one web-chat socket: `perSecond` frames a second, `burst` saved up. An
/// anonymous visitor who sends faster (1,000 stored messages in 8 s were seen) is disconnected.
struct FrameBudget {
    let perSecond: Double
    let burst: Double
    private var tokens: Double
    private var updated: Date?

    init(perSecond: Double, burst: Int) {
        self.perSecond = perSecond
        self.burst = Double(max(1, burst))
        self.tokens = self.burst
    }

    /// Takes one frame's token; false when the socket has none left.
    mutating func take(now: Date) -> Bool {
        if let updated { tokens = min(burst, tokens + max(0, now.timeIntervalSince(updated)) * perSecond) }
        updated = now
        guard tokens >= 1 else { return false }
        tokens -= 1
        return true
    }
}
