import Metrics
import Prometheus

/// The process's metrics: swift-metrics bootstrapped once with a Prometheus registry, which
/// `GET /metrics` renders in Prometheus' text format.
public enum GatewayMetrics {
    public static let registry = PrometheusCollectorRegistry()

    /// Bootstraps swift-metrics the first time it is read (the bootstrap is once per process).
    static let bootstrapped: Bool = {
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        return true
    }()

    static func inbound(channel: String) {
        Counter(label: "switchboard_inbound_messages_total", dimensions: [("channel", channel)]).increment()
    }

    static func duplicate(channel: String) {
        Counter(label: "switchboard_duplicate_webhooks_total", dimensions: [("channel", channel)]).increment()
    }

    static func webhookRefused(channel: String, reason: String) {
        Counter(label: "switchboard_webhooks_refused_total", dimensions: [("channel", channel), ("reason", reason)]).increment()
    }

    /// An outbound attempt's result: `sent`, `retry` or `failed`.
    static func outbound(channel: String, result: String) {
        Counter(label: "switchboard_outbound_attempts_total", dimensions: [("channel", channel), ("result", result)]).increment()
    }
}
