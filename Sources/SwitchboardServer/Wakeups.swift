/// A coalescing wake-up for a worker loop: any number of `wake()` calls between two turns make one
/// turn, and a ticker wakes it anyway every so often (for rows that became due by time alone).
struct Wakeups: Sendable {
    let stream: AsyncStream<Void>
    private let continuation: AsyncStream<Void>.Continuation

    init() {
        (stream, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    func wake() {
        continuation.yield()
    }

    /// Ends the loop that iterates `stream` (graceful shutdown).
    func finish() {
        continuation.finish()
    }

    /// Wakes every `seconds` until the returned task is cancelled.
    func tick(every seconds: Double) -> Task<Void, Never> {
        let nanoseconds = UInt64(max(0.01, seconds) * 1_000_000_000)
        return Task { [continuation] in
            while !Task.isCancelled {
                try? await Task.sleep(nanoseconds: nanoseconds)
                continuation.yield()
            }
        }
    }
}
