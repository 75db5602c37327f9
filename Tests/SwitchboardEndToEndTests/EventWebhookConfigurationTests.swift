import Foundation
import SwitchboardCore
import SwitchboardServer
import SwitchboardStorage
import Testing

/// Event-webhook subscribers from the file and the environment, and what validation refuses.
@Suite("Event webhooks: configuration")
struct EventWebhookConfigurationTests {
    let secret = "whsec_" + Data((0..<32).map { UInt8($0) }).base64EncodedString()

    @Test("SWITCHBOARD_EVENT_WEBHOOK_URL and _SECRET make one subscriber of every event type; _EVENTS narrows it")
    func environment() throws {
        let configuration = try GatewayConfiguration.load(path: "Config/switchboard.json", environment: [
            "SWITCHBOARD_EVENT_WEBHOOK_URL": "https://crm.example/hooks", "SWITCHBOARD_EVENT_WEBHOOK_SECRET": secret,
        ])
        let subscriber = try #require(configuration.eventWebhooks.subscribers.first)
        #expect(configuration.eventWebhooks.subscribers.count == 1)
        #expect(subscriber.name == "default" && subscriber.url == "https://crm.example/hooks")
        #expect(subscriber.subscription.events == Set(WebhookEventType.allCases))
        let narrowed = try GatewayConfiguration.load(path: "Config/switchboard.json", environment: [
            "SWITCHBOARD_EVENT_WEBHOOK_URL": "https://crm.example/hooks", "SWITCHBOARD_EVENT_WEBHOOK_SECRET": secret,
            "SWITCHBOARD_EVENT_WEBHOOK_EVENTS": "message.status, contact.updated",
        ])
        #expect(narrowed.eventWebhooks.subscribers.first?.subscription.events == [.messageStatus, .contactUpdated])
    }

    @Test("problems are named: a URL without a secret, a bad URL, secret or event type, a name used twice")
    func refusals() throws {
        func problems(_ environment: [String: String] = [:], file: String? = nil) -> [String] {
            do {
                var configuration = try GatewayConfiguration.load(path: "Config/switchboard.json", environment: [:])
                if let file {
                    configuration.eventWebhooks = try JSONDecoder().decode(
                        GatewayConfiguration.EventWebhookSettings.self, from: Data(file.utf8))
                }
                try configuration.apply(environment: environment)
                try configuration.validate()
                return []
            } catch let error as ConfigurationError {
                return error.problems
            } catch {
                return ["\(error)"]
            }
        }
        #expect(problems(["SWITCHBOARD_EVENT_WEBHOOK_URL": "https://crm.example"])
            == ["SWITCHBOARD_EVENT_WEBHOOK_URL and SWITCHBOARD_EVENT_WEBHOOK_SECRET go together"])
        #expect(problems(["SWITCHBOARD_EVENT_WEBHOOK_URL": "ftp://crm.example", "SWITCHBOARD_EVENT_WEBHOOK_SECRET": secret])
            .contains { $0.hasPrefix("eventWebhooks.subscribers[0].url:") })
        #expect(problems(["SWITCHBOARD_EVENT_WEBHOOK_URL": "https://crm.example", "SWITCHBOARD_EVENT_WEBHOOK_SECRET": "whsec_!!"])
            .contains { $0.hasPrefix("eventWebhooks.subscribers[0].secret:") })
        #expect(problems([
            "SWITCHBOARD_EVENT_WEBHOOK_URL": "https://crm.example", "SWITCHBOARD_EVENT_WEBHOOK_SECRET": secret,
            "SWITCHBOARD_EVENT_WEBHOOK_EVENTS": "message.created,message.deleted",
        ]) == ["eventWebhooks.subscribers[0].events: message.deleted is not one of message.created, message.status, message.reaction, contact.updated, broadcast.completed"])
        let twice = """
            {"subscribers": [{"name": "crm", "url": "https://a.example", "secret": "\(secret)"},
                             {"name": "crm", "url": "https://b.example", "secret": "\(secret)", "events": []}],
             "retrySchedule": []}
            """
        let found = problems(file: twice)
        #expect(found.contains("eventWebhooks.subscribers[1].name: 'crm' is used twice"))
        #expect(found.contains("eventWebhooks.subscribers[1].events: name at least one event type"))
        #expect(found.contains { $0.hasPrefix("eventWebhooks.retrySchedule:") })
    }
}
