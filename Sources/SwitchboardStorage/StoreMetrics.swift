import Metrics

/// Counters the store keeps (exported by whatever metrics backend the process bootstraps).
enum StoreMetrics {
    /// A bot reply that was not queued, by reason (`unsubscribed`).
    static func droppedBotReplies(reason: String) {
        Counter(label: "switchboard_bot_replies_dropped_total", dimensions: [("reason", reason)]).increment()
    }
}
