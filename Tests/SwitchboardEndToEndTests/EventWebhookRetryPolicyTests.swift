import Foundation
import SwitchboardServer
import SwitchboardStorage
import Testing

/// What an event-webhook answer means: pure decisions, on a fixed clock.
@Suite("Event webhooks: retry policy")
struct EventWebhookRetryPolicyTests {
    let policy = EventWebhookRetryPolicy(schedule: [5, 300, 1_800, 7_200, 18_000, 36_000, 36_000], retryFor: 86_400, maxRetryAfter: 3_600)
    let first = Date(timeIntervalSince1970: 1_800_000_000)

    @Test("any 2xx is delivered; 410 is the subscriber gone")
    func answers() {
        for code in [200, 201, 202, 204, 299] {
            #expect(policy.outcome(statusCode: code, retryAfter: nil, problem: "", attempt: 1, firstAttemptAt: first, now: first)
                == .delivered(statusCode: code))
        }
        #expect(policy.outcome(statusCode: 410, retryAfter: nil, problem: "", attempt: 1, firstAttemptAt: first, now: first) == .subscriberGone)
    }

    @Test("failures follow the schedule, the last delay repeating, and the last attempt falls at the window's end")
    func schedule() {
        func delay(_ attempt: Int, at now: Date) -> Double? {
            guard case .retry(let notBefore, _, _) = policy.outcome(
                statusCode: 500, retryAfter: nil, problem: "HTTP 500", attempt: attempt, firstAttemptAt: first, now: now)
            else { return nil }
            return notBefore.timeIntervalSince(now)
        }
        #expect(delay(1, at: first) == 5)
        #expect(delay(2, at: first.addingTimeInterval(5)) == 300)
        #expect(delay(7, at: first.addingTimeInterval(10_000)) == 36_000)
        #expect(delay(12, at: first.addingTimeInterval(20_000)) == 36_000)
        // 10 h from 20 h in would pass the 24 h window: the attempt is at its end instead.
        #expect(delay(8, at: first.addingTimeInterval(72_000)) == 14_400)
        // No answer at all (a timeout, a refused connection) is retried the same way.
        guard case .retry(let notBefore, let error, let code) = policy.outcome(
            statusCode: nil, retryAfter: nil, problem: "the subscriber did not answer", attempt: 1, firstAttemptAt: first, now: first)
        else {
            Issue.record("no answer should be retried")
            return
        }
        #expect(notBefore == first.addingTimeInterval(5) && code == nil && error == "the subscriber did not answer")
        let late = policy.outcome(statusCode: 503, retryAfter: nil, problem: "HTTP 503", attempt: 9, firstAttemptAt: first,
                                  now: first.addingTimeInterval(86_400))
        guard case .failed(let error, let code) = late else {
            Issue.record("expected failed, got \(late)")
            return
        }
        #expect(code == 503 && error.hasPrefix("HTTP 503") && error.contains("24 h"))
    }

    @Test("Retry-After in seconds or as an HTTP date replaces the schedule's delay, up to the cap")
    func retryAfter() {
        func delay(_ header: String) -> Double? {
            guard case .retry(let notBefore, _, _) = policy.outcome(
                statusCode: 429, retryAfter: header, problem: "HTTP 429", attempt: 3, firstAttemptAt: first, now: first)
            else { return nil }
            return notBefore.timeIntervalSince(first)
        }
        #expect(delay("1") == 1)
        #expect(delay("120") == 120)
        #expect(delay("999999") == 3_600)
        let date = first.addingTimeInterval(90)
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        #expect(delay(formatter.string(from: date)) == 90)
        // Unreadable values fall back to the schedule.
        #expect(delay("soon") == 1_800)
        #expect(delay("-5") == 1_800)
        #expect(delay(String(repeating: "9", count: 400)) == 1_800)
        #expect(EventWebhookRetryPolicy.retryAfterSeconds("Wed, 21 Oct 2015 07:28:00 GMT", now: first) == 0)
        // "0" (or a date passed) waits a second, not a busy loop.
        #expect(delay("0") == 1)
        // Asked to wait past the window's end: waited for (that attempt is then the last).
        let late = first.addingTimeInterval(86_000)
        guard case .retry(let notBefore, _, _) = policy.outcome(
            statusCode: 503, retryAfter: "1000", problem: "HTTP 503", attempt: 8, firstAttemptAt: first, now: late)
        else {
            Issue.record("expected a retry")
            return
        }
        #expect(notBefore == late.addingTimeInterval(1000))
    }
}
