import Synchronization

/// A count of things open at once (connections, event streams) with a ceiling: `acquire()` takes a
/// slot when one is free, `release()` gives it back.
public final class OpenSlots: Sendable {
    public let limit: Int
    private let open = Atomic<Int>(0)

    public init(limit: Int) {
        self.limit = limit
    }

    /// Slots taken now.
    public var count: Int { open.load(ordering: .relaxed) }

    /// Takes a slot; false (nothing taken) when all `limit` are in use.
    public func acquire() -> Bool {
        if open.wrappingAdd(1, ordering: .relaxed).newValue > limit {
            open.subtract(1, ordering: .relaxed)
            return false
        }
        return true
    }

    public func release() {
        open.subtract(1, ordering: .relaxed)
    }
}
