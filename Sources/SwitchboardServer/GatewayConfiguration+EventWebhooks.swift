import Foundation
import SwitchboardCore
import SwitchboardStorage

extension GatewayConfiguration {
    /// Event webhooks: who is told what happened, and how hard the gateway tries
    /// (docs/api.md, "Event webhooks").
    public struct EventWebhookSettings: Codable, Sendable, Equatable {
        public var subscribers: [EventSubscriber] = []
        /// Seconds to wait after each failed attempt, in turn; the last repeats. The default is
        /// the Standard Webhooks schedule (5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h).
        public var retrySchedule: [Double] = [5, 300, 1_800, 7_200, 18_000, 36_000, 36_000]
        /// How long after its first attempt a delivery keeps being retried before it fails.
        public var retryForSeconds: Double = 86_400
        /// Longest `Retry-After` honoured (a later one waits this long).
        public var maxRetryAfterSeconds: Double = 86_400
        public var timeoutMilliseconds: Int = 10_000
        /// Deliveries in flight at once, over every subscriber.
        public var concurrency: Int = 16

        public init() {}

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            let defaults = EventWebhookSettings()
            subscribers = try c.decodeIfPresent([EventSubscriber].self, forKey: .subscribers) ?? []
            retrySchedule = try c.decodeIfPresent([Double].self, forKey: .retrySchedule) ?? defaults.retrySchedule
            retryForSeconds = try c.decodeIfPresent(Double.self, forKey: .retryForSeconds) ?? defaults.retryForSeconds
            maxRetryAfterSeconds = try c.decodeIfPresent(Double.self, forKey: .maxRetryAfterSeconds) ?? defaults.maxRetryAfterSeconds
            timeoutMilliseconds = try c.decodeIfPresent(Int.self, forKey: .timeoutMilliseconds) ?? defaults.timeoutMilliseconds
            concurrency = try c.decodeIfPresent(Int.self, forKey: .concurrency) ?? defaults.concurrency
        }

        var problems: [String] {
            var problems: [String] = []
            var names: Set<String> = []
            for (index, subscriber) in subscribers.enumerated() {
                let at = "eventWebhooks.subscribers[\(index)]"
                if !EventSubscriber.isValidName(subscriber.name) {
                    problems.append("\(at).name: '\(subscriber.name)' must be 1 to 64 of a-z, 0-9, '-' and '_'")
                } else if !names.insert(subscriber.name).inserted {
                    problems.append("\(at).name: '\(subscriber.name)' is used twice")
                }
                if let problem = ExternalURL.problem(subscriber.url, allowHTTP: true) {
                    problems.append("\(at).url: '\(subscriber.url)' \(problem)")
                }
                do {
                    _ = try StandardWebhookSigner(secrets: subscriber.secret)
                } catch {
                    problems.append("\(at).secret: \(error.description)")
                }
                let unknown = subscriber.events.filter { WebhookEventType(rawValue: $0) == nil }
                if !unknown.isEmpty {
                    problems.append("\(at).events: \(unknown.joined(separator: ", ")) is not one of "
                        + WebhookEventType.allCases.map(\.rawValue).joined(separator: ", "))
                }
                if subscriber.events.isEmpty { problems.append("\(at).events: name at least one event type") }
            }
            if retrySchedule.isEmpty || !retrySchedule.allSatisfy({ $0.isFinite && $0 >= 0 && $0 <= 86_400 * 7 }) {
                problems.append("eventWebhooks.retrySchedule: give one or more delays of 0 to 604800 seconds")
            }
            if !(retryForSeconds.isFinite && retryForSeconds >= 0 && retryForSeconds <= 86_400 * 30) {
                problems.append("eventWebhooks.retryForSeconds: must be 0 to 2592000")
            }
            if !(maxRetryAfterSeconds.isFinite && maxRetryAfterSeconds >= 0 && maxRetryAfterSeconds <= 86_400 * 7) {
                problems.append("eventWebhooks.maxRetryAfterSeconds: must be 0 to 604800")
            }
            if !(100...120_000).contains(timeoutMilliseconds) { problems.append("eventWebhooks.timeoutMilliseconds: must be 100 to 120000") }
            if !(1...256).contains(concurrency) { problems.append("eventWebhooks.concurrency: must be 1 to 256") }
            return problems
        }
    }

    /// One receiver of event webhooks.
    public struct EventSubscriber: Codable, Sendable, Equatable {
        /// How deliveries name it (`GET /api/v1/webhook-deliveries`).
        public var name: String
        public var url: String
        /// `whsec_<base64>`, several separated by spaces while one replaces another.
        public var secret: String
        /// Event types it wants; all of them when the file leaves this out.
        public var events: [String]

        public init(name: String, url: String, secret: String, events: [String] = WebhookEventType.allCases.map(\.rawValue)) {
            self.name = name
            self.url = url
            self.secret = secret
            self.events = events
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            name = try c.decode(String.self, forKey: .name)
            url = try c.decode(String.self, forKey: .url)
            secret = try c.decode(String.self, forKey: .secret)
            events = try c.decodeIfPresent([String].self, forKey: .events) ?? WebhookEventType.allCases.map(\.rawValue)
        }

        /// What the store keeps of it.
        public var subscription: WebhookSubscription {
            WebhookSubscription(name: name, url: url, events: Set(events.compactMap(WebhookEventType.init(rawValue:))))
        }

        static func isValidName(_ name: String) -> Bool {
            (1...64).contains(name.utf8.count)
                && name.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D || $0 == 0x5F }
        }
    }

    /// `SWITCHBOARD_EVENT_WEBHOOK_URL`, `_SECRET` and (optional, comma-separated) `_EVENTS`: one
    /// subscriber named `default`, replacing one of that name in the file.
    mutating func applyEventWebhookEnvironment(_ env: [String: String], problems: inout [String]) {
        guard env["SWITCHBOARD_EVENT_WEBHOOK_URL"] != nil || env["SWITCHBOARD_EVENT_WEBHOOK_SECRET"] != nil else { return }
        guard let url = env["SWITCHBOARD_EVENT_WEBHOOK_URL"], let secret = env["SWITCHBOARD_EVENT_WEBHOOK_SECRET"] else {
            problems.append("SWITCHBOARD_EVENT_WEBHOOK_URL and SWITCHBOARD_EVENT_WEBHOOK_SECRET go together")
            return
        }
        var subscriber = EventSubscriber(name: "default", url: url, secret: secret)
        if let events = env["SWITCHBOARD_EVENT_WEBHOOK_EVENTS"] {
            subscriber.events = events.split(separator: ",").map { String($0).trimmingWhitespace() }.filter { !$0.isEmpty }
        }
        eventWebhooks.subscribers.removeAll { $0.name == "default" }
        eventWebhooks.subscribers.append(subscriber)
    }
}
