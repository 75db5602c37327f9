import Metrics
import Prometheus
import SwitchboardCore
import SwitchboardStorage

/// The process's metrics: swift-metrics bootstrapped once with a Prometheus registry, which
/// `GET /metrics` renders in Prometheus' text format.
public enum GatewayMetrics {
    public static let registry = PrometheusCollectorRegistry()

    /// Bootstraps swift-metrics the first time it is read (the bootstrap is once per process).
    static let bootstrapped: Bool = {
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        return true
    }()

    /// The per-message counters, made once: `Counter(label:dimensions:)` goes through the
    /// factory's registry (a lock and a keyed lookup) every time it is called.
    private static let inboundCounters: [String: Metrics.Counter] = {
        _ = bootstrapped
        return Dictionary(uniqueKeysWithValues: Channel.allCases.map {
            ($0.rawValue, Metrics.Counter(label: "switchboard_inbound_messages_total", dimensions: [("channel", $0.rawValue)]))
        })
    }()

    private static let outboundCounters: [String: Metrics.Counter] = {
        _ = bootstrapped
        return Dictionary(uniqueKeysWithValues: Channel.allCases.flatMap { channel in
            ["sent", "retry", "failed"].map { result in
                (channel.rawValue + "/" + result, Metrics.Counter(
                    label: "switchboard_outbound_attempts_total", dimensions: [("channel", channel.rawValue), ("result", result)]))
            }
        })
    }()

    static func inbound(channel: String) {
        (inboundCounters[channel] ?? Counter(label: "switchboard_inbound_messages_total", dimensions: [("channel", channel)])).increment()
    }

    static func duplicate(channel: String) {
        Counter(label: "switchboard_duplicate_webhooks_total", dimensions: [("channel", channel)]).increment()
    }

    static func webhookRefused(channel: String, reason: String) {
        Counter(label: "switchboard_webhooks_refused_total", dimensions: [("channel", channel), ("reason", reason)]).increment()
    }

    /// An outbound attempt's result: `sent`, `retry` or `failed`.
    static func outbound(channel: String, result: String) {
        (outboundCounters[channel + "/" + result]
            ?? Counter(label: "switchboard_outbound_attempts_total", dimensions: [("channel", channel), ("result", result)])).increment()
    }
}

extension GatewayMetrics {
    /// An event-webhook attempt: `delivered`, `retry`, `failed` or `gone`.
    static func eventWebhook(subscriber: String, outcome: WebhookAttemptOutcome) {
        let result: String
        switch outcome {
        case .delivered: result = "delivered"
        case .retry: result = "retry"
        case .failed: result = "failed"
        case .subscriberGone: result = "gone"
        }
        Counter(label: "switchboard_event_webhook_attempts_total", dimensions: [("subscriber", subscriber), ("result", result)]).increment()
    }
}
