import Foundation
import SwitchboardStorage

/// What an event-webhook attempt's answer means for its delivery: delivered (any 2xx), the
/// subscriber gone (410), or another attempt after a delay, until the retry window since the
/// first attempt has passed. Pure: the dispatcher feeds it the answer and the clock.
public struct EventWebhookRetryPolicy: Sendable, Equatable {
    /// Seconds after each failed attempt, in turn; the last repeats.
    public var schedule: [Double]
    /// Retried until this long after the first attempt; the last attempt falls at its end.
    public var retryFor: Double
    /// The longest `Retry-After` waited for.
    public var maxRetryAfter: Double

    public init(schedule: [Double], retryFor: Double, maxRetryAfter: Double) {
        self.schedule = schedule.isEmpty ? [5] : schedule
        self.retryFor = retryFor
        self.maxRetryAfter = maxRetryAfter
    }

    /// The outcome of attempt number `attempt` (1 for the first) of a delivery first attempted at
    /// `firstAttemptAt`. `statusCode` is nil when no answer came (`problem` says why).
    public func outcome(
        statusCode: Int?, retryAfter: String?, problem: String, attempt: Int, firstAttemptAt: Date, now: Date
    ) -> WebhookAttemptOutcome {
        if let statusCode, (200...299).contains(statusCode) { return .delivered(statusCode: statusCode) }
        if statusCode == 410 { return .subscriberGone }
        let deadline = firstAttemptAt.addingTimeInterval(retryFor)
        if now >= deadline {
            return .failed(error: problem + "; given up after retrying for \(Self.duration(retryFor))", statusCode: statusCode)
        }
        let scheduled = schedule[min(max(attempt, 1), schedule.count) - 1]
        // The receiver's Retry-After is waited for even past the window (then that attempt is the
        // last); at least a second, so "0" does not make a busy loop.
        if let asked = retryAfter.flatMap({ Self.retryAfterSeconds($0, now: now) }) {
            return .retry(notBefore: now.addingTimeInterval(min(max(asked, 1), maxRetryAfter)), error: problem, statusCode: statusCode)
        }
        return .retry(notBefore: min(now.addingTimeInterval(scheduled), deadline), error: problem, statusCode: statusCode)
    }

    /// `Retry-After` as seconds from `now`: delta-seconds or an HTTP date (RFC 9110, 10.2.3);
    /// nil when it is neither.
    public static func retryAfterSeconds(_ value: String, now: Date) -> Double? {
        let trimmed = value.trimmingCharacters(in: .whitespaces)
        if !trimmed.isEmpty, trimmed.utf8.count <= 10, trimmed.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let seconds = Double(trimmed) {
            return seconds
        }
        guard trimmed.utf8.count <= 40 else { return nil }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        guard let date = formatter.date(from: trimmed) else { return nil }
        return max(0, date.timeIntervalSince(now))
    }

    static func duration(_ seconds: Double) -> String {
        seconds >= 3_600 ? "\(Int(seconds / 3_600)) h" : seconds >= 60 ? "\(Int(seconds / 60)) min" : "\(Int(seconds)) s"
    }
}
