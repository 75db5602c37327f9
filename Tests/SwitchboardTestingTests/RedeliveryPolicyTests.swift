import SwitchboardSimulator
import Testing

@Suite("Redelivery policy of the simulated providers")
struct RedeliveryPolicyTests {
    @Test("RBM and Messenger retry a refused or unanswered callback with doubling waits, up to a cap, then give up")
    func backoff() {
        for provider in ["rbm", "messenger"] {
            let policy = RedeliveryPolicy.of(provider: provider, pauseMilliseconds: 200)
            #expect(policy.delayBeforeRetry(after: 0, status: 503) == 200)
            #expect(policy.delayBeforeRetry(after: 1, status: 0) == 400)
            #expect(policy.delayBeforeRetry(after: 2, status: 404) == 800)
            #expect(policy.delayBeforeRetry(after: 7, status: 500) == 5_000)
            #expect(policy.delayBeforeRetry(after: policy.maxRetries, status: 500) == nil)
            #expect(policy.delayBeforeRetry(after: 0, status: 200) == nil)
            #expect(policy.delayBeforeRetry(after: 3, status: 204) == nil)
        }
        // A short pause still waits a little before retrying.
        #expect(RedeliveryPolicy.of(provider: "rbm", pauseMilliseconds: 0).delayBeforeRetry(after: 0, status: 503) == 50)
    }

    @Test("Twilio never posts a status callback again")
    func twilioDoesNotRetry() {
        let policy = RedeliveryPolicy.of(provider: "twilio", pauseMilliseconds: 200)
        #expect(policy.maxRetries == 0)
        #expect(policy.delayBeforeRetry(after: 0, status: 503) == nil)
        #expect(policy.delayBeforeRetry(after: 0, status: 0) == nil)
    }

    @Test("a huge attempt number neither overflows nor waits past the cap")
    func largeAttempt() {
        let policy = RedeliveryPolicy(maxRetries: Int.max, firstDelayMilliseconds: 1_000, maxDelayMilliseconds: 2_000)
        #expect(policy.delayBeforeRetry(after: 1_000, status: 500) == 2_000)
    }
}
