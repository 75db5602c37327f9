/// How a provider delivers a webhook again when the receiver did not acknowledge it (a non-2xx
/// answer, or no answer at all), played by the simulator's status callbacks.
///
/// - RBM events arrive by Pub/Sub push, which redelivers until a 200, with exponential backoff up
///   to 600 s between tries, for 7 days (`../shared/research/production-notes.md` §3b, [64]).
/// - Messenger retries failed deliveries too; its schedule is not published (providers.md §2:
///   "retry schedule UNCONFIRMED"), so the same backoff is used.
/// - Twilio does not retry a status callback by default: only with connection overrides on the
///   URL (https://twilio.com/docs/usage/webhooks/webhooks-connection-overrides), which the gateway
///   does not set. One refused Twilio callback is lost, as in production.
///
/// The simulator compresses time: the first retry comes after the run's callback pause (at least
/// 50 ms), each next one after twice as long, at most 5 s, and it gives up after `maxRetries`.
public struct RedeliveryPolicy: Sendable, Equatable {
    /// Retries after the first attempt (0: never delivered again).
    public var maxRetries: Int
    /// The wait before the first retry, in milliseconds.
    public var firstDelayMilliseconds: Int
    /// The longest wait between two attempts, in milliseconds.
    public var maxDelayMilliseconds: Int

    public init(maxRetries: Int, firstDelayMilliseconds: Int, maxDelayMilliseconds: Int = 5_000) {
        self.maxRetries = max(0, maxRetries)
        self.firstDelayMilliseconds = max(1, firstDelayMilliseconds)
        self.maxDelayMilliseconds = max(self.firstDelayMilliseconds, maxDelayMilliseconds)
    }

    /// The policy of `provider` (`twilio`, `messenger`, `rbm`) for a run whose callbacks pause
    /// `pauseMilliseconds` before each step.
    public static func of(provider: String, pauseMilliseconds: Int) -> RedeliveryPolicy {
        switch provider {
        case "rbm", "messenger": RedeliveryPolicy(maxRetries: 8, firstDelayMilliseconds: max(50, pauseMilliseconds))
        default: RedeliveryPolicy(maxRetries: 0, firstDelayMilliseconds: 1)
        }
    }

    /// After attempt `attempt` (0 for the first) was answered with `status` (0: no answer), how
    /// long to wait before the next one, or nil when the callback is done: acknowledged, or out of
    /// retries.
    public func delayBeforeRetry(after attempt: Int, status: Int) -> Int? {
        guard !(200...299).contains(status), attempt < maxRetries else { return nil }
        // first × 2^attempt, capped; past 2^30 (or on overflow) it is the cap anyway.
        let (delay, overflow) = firstDelayMilliseconds.multipliedReportingOverflow(by: 1 << min(attempt, 30))
        return overflow ? maxDelayMilliseconds : min(maxDelayMilliseconds, delay)
    }
}
