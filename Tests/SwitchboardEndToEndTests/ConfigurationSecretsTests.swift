import Foundation
import MessengerAdapter
import RBMAdapter
import SwitchboardCore
import SwitchboardServer
import Testing
import TwilioSMSAdapter

@Suite("Configuration: credentials and limits")
struct ConfigurationSecretsTests {
    @Test("the shipped configuration enables no provider channel without credentials, and says why")
    func shippedFile() throws {
        let configuration = try GatewayConfiguration.load(path: "Config/switchboard.json", environment: [:])
        #expect(configuration.twilioSettings == nil)
        #expect(configuration.messengerSettings == nil)
        #expect(configuration.rbmSettings == nil)
        let states = Dictionary(uniqueKeysWithValues: configuration.channelStates.map { ($0.channel, $0.disabledBecause) })
        #expect(states[.sms]??.contains("TWILIO_AUTH_TOKEN") == true)
        #expect(states[.rcs]??.contains("RBM_CLIENT_TOKEN") == true)
        #expect(states[.messenger]??.contains("MESSENGER_APP_SECRET") == true)
        #expect(states[.webchat] == .some(nil))
        #expect(configuration.publishedSecretProblems.isEmpty)
    }

    @Test("RBM with a service-account file: read at startup, one way to authorize, problems named without the key")
    func rbmServiceAccount() throws {
        let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/rbm/service-account.json").path
        let base = ["RBM_AGENT_ID": "agent", "RBM_CLIENT_TOKEN": "a-real-client-token"]
        let configuration = try GatewayConfiguration.load(
            path: "Config/switchboard.json", environment: base.merging(["RBM_SERVICE_ACCOUNT_FILE": fixtures]) { $1 })
        guard case .serviceAccount(let account)? = configuration.rbmSettings?.credentials else {
            Issue.record("no service account in \(String(describing: configuration.rbmSettings))")
            return
        }
        #expect(account.clientEmail == "bot@p.iam.gserviceaccount.com")
        #expect(account.tokenURI == "https://oauth2.googleapis.com/token")

        func problems(_ environment: [String: String]) -> [String] {
            do {
                _ = try GatewayConfiguration.load(path: "Config/switchboard.json", environment: base.merging(environment) { $1 })
                return []
            } catch let error as ConfigurationError {
                return error.problems
            } catch {
                return ["\(error)"]
            }
        }
        #expect(problems(["RBM_SERVICE_ACCOUNT_FILE": fixtures, "RBM_ACCESS_TOKEN": "a-token"]).contains { $0.contains("set one") })
        let missing = problems(["RBM_SERVICE_ACCOUNT_FILE": "/nonexistent/key.json"])
        #expect(missing.contains { $0.hasPrefix("rbm.serviceAccountFile (RBM_SERVICE_ACCOUNT_FILE): /nonexistent/key.json cannot be read") })
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sa-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        var key = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: fixtures))) as? [String: String])
        key["token_uri"] = "http://oauth.example/token"
        let insecure = directory.appendingPathComponent("insecure.json")
        try JSONSerialization.data(withJSONObject: key).write(to: insecure)
        let refused = problems(["RBM_SERVICE_ACCOUNT_FILE": insecure.path])
        #expect(refused.contains { $0.contains("token_uri must be an https: URL") })
        #expect(!refused.joined().contains("PRIVATE KEY"))
    }

    @Test("a published simulator secret is named as a problem outside --dev, whichever key holds it")
    func publishedSecrets() throws {
        let published = ProviderAccounts.published
        let twilioToken = try #require(published[GatewayConfiguration.TwilioAccount.self]?.authToken)
        let rbmToken = try #require(published[GatewayConfiguration.RBMAgent.self]?.accessToken)
        let configuration = try GatewayConfiguration.load(path: "Config/switchboard.json", environment: [
            "TWILIO_ACCOUNT_SID": "AC123", "TWILIO_AUTH_TOKEN": twilioToken, "TWILIO_FROM": "+15550001111",
            "RBM_AGENT_ID": "agent", "RBM_CLIENT_TOKEN": "a-real-client-token", "RBM_ACCESS_TOKEN": rbmToken,
        ])
        let problems = configuration.publishedSecretProblems
        #expect(problems.count == 2)
        #expect(problems.contains { $0.hasPrefix("twilio.authToken (TWILIO_AUTH_TOKEN)") })
        #expect(problems.contains { $0.hasPrefix("rbm.accessToken (RBM_ACCESS_TOKEN)") })
        #expect(!problems.joined().contains(twilioToken))
    }

    @Test("--dev fills only channels without credentials, pointing them at the simulator, never at a real API")
    func devFill() throws {
        var configuration = try GatewayConfiguration.load(path: "Config/switchboard.json", environment: [
            "TWILIO_ACCOUNT_SID": "AC123", "TWILIO_AUTH_TOKEN": "operator-token", "TWILIO_FROM": "+15550002222",
            "MESSENGER_API_BASE_URL": "http://127.0.0.1:9999",
        ])
        let filled = configuration.fillWithSimulatorCredentials()
        #expect(Set(filled) == [.messenger, .rcs])
        #expect(configuration.twilio?.authToken == "operator-token")
        #expect(configuration.twilio?.apiBaseURL == "https://api.twilio.com")
        #expect(configuration.messenger?.appSecret == ProviderAccounts.published[GatewayConfiguration.MessengerApp.self]?.appSecret)
        #expect(configuration.messenger?.apiBaseURL == "http://127.0.0.1:9999")
        #expect(configuration.rbm?.apiBaseURL == configuration.simulatorURL)
        #expect(configuration.channelStates.allSatisfy { $0.disabledBecause == nil })
    }

    @Test("limits and the shutdown deadline are validated, and read from the file and the environment")
    func limits() throws {
        var configuration = GatewayConfiguration()
        configuration.limits.maxConnections = 0
        configuration.limits.idleTimeoutSeconds = .infinity
        configuration.shutdownTimeoutSeconds = -1
        let problems = #expect(throws: ConfigurationError.self) { try configuration.validate() }?.problems ?? []
        #expect(problems.contains("limits.maxConnections: must be at least 1"))
        #expect(problems.contains { $0.hasPrefix("limits.idleTimeoutSeconds") })
        #expect(problems.contains { $0.hasPrefix("shutdownTimeoutSeconds") })
        let decoded = try JSONDecoder().decode(
            GatewayConfiguration.self, from: Data(#"{"limits": {"eventStreams": 3}, "metricsPublic": true}"#.utf8))
        #expect(decoded.limits.eventStreams == 3)
        #expect(decoded.limits.maxConnections == GatewayConfiguration.Limits().maxConnections)
        #expect(decoded.metricsPublic)
        var fromEnvironment = GatewayConfiguration()
        try fromEnvironment.apply(environment: ["SWITCHBOARD_SHUTDOWN_TIMEOUT_SECONDS": "3", "SWITCHBOARD_METRICS_PUBLIC": "true"])
        #expect(fromEnvironment.shutdownTimeoutSeconds == 3)
        #expect(fromEnvironment.metricsPublic)
        #expect(throws: ConfigurationError.self) { try fromEnvironment.apply(environment: ["SWITCHBOARD_METRICS_PUBLIC": "maybe"]) }
    }
}
