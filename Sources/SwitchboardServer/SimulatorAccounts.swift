import Foundation
import SwitchboardCore
import MessengerAdapter
import RBMAdapter
import TwilioSMSAdapter

/// Provider credentials for playing against the simulator. The published ones are written in this
/// repository, so they authenticate nothing: only `serve --dev` and `switchboard simulate` use them,
/// and `serve` without `--dev` refuses to start when a configured secret is one of them
/// (docs/security.md, "forged webhooks").
public struct SimulatorCredentials: Sendable, Equatable {
    public var twilioAccountSid: String
    public var twilioAuthToken: String
    public var twilioFrom: String
    public var messengerAppSecret: String
    public var messengerVerifyToken: String
    public var messengerPageAccessToken: String
    public var messengerPageId: String
    public var rbmAgentId: String
    public var rbmClientToken: String
    public var rbmAccessToken: String

    /// The simulator's own credentials, the same in every checkout.
    public static let published = SimulatorCredentials(
        twilioAccountSid: "AC00000000000000000000000000000000", twilioAuthToken: "simulator-twilio-auth-token",
        twilioFrom: "+15550001111",
        messengerAppSecret: "simulator-messenger-app-secret", messengerVerifyToken: "simulator-verify-token",
        messengerPageAccessToken: "simulator-page-access-token", messengerPageId: "100000000000001",
        rbmAgentId: "switchboard-simulator-agent", rbmClientToken: "simulator-rbm-client-token",
        rbmAccessToken: "simulator-rbm-access-token")

    /// Fresh secrets for one run (benchmarks and reliability scripts that start `serve` without `--dev`).
    public static func random() -> SimulatorCredentials {
        func hex(_ count: Int) -> String { (0..<count).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined() }
        return SimulatorCredentials(
            twilioAccountSid: "AC" + hex(16), twilioAuthToken: hex(16), twilioFrom: "+15550001111",
            messengerAppSecret: hex(16), messengerVerifyToken: hex(12), messengerPageAccessToken: hex(24),
            messengerPageId: "100000000000001", rbmAgentId: "switchboard-simulator-agent", rbmClientToken: hex(16),
            rbmAccessToken: hex(24))
    }

    /// The secrets among these credentials (not the ids and numbers, which are not secret).
    public var secrets: [String] {
        [twilioAuthToken, messengerAppSecret, messengerVerifyToken, messengerPageAccessToken, rbmClientToken, rbmAccessToken]
    }

    /// The same credentials as the environment variables `serve` reads, with every provider's API
    /// at `simulatorURL`.
    public func environment(simulatorURL: String) -> [String: String] {
        [
            "TWILIO_ACCOUNT_SID": twilioAccountSid, "TWILIO_AUTH_TOKEN": twilioAuthToken, "TWILIO_FROM": twilioFrom,
            "TWILIO_API_BASE_URL": simulatorURL,
            "MESSENGER_APP_SECRET": messengerAppSecret, "MESSENGER_VERIFY_TOKEN": messengerVerifyToken,
            "MESSENGER_PAGE_ACCESS_TOKEN": messengerPageAccessToken, "MESSENGER_PAGE_ID": messengerPageId,
            "MESSENGER_API_BASE_URL": simulatorURL,
            "RBM_AGENT_ID": rbmAgentId, "RBM_CLIENT_TOKEN": rbmClientToken, "RBM_ACCESS_TOKEN": rbmAccessToken,
            "RBM_API_BASE_URL": simulatorURL,
        ]
    }
}

extension GatewayConfiguration {
    /// The simulator's base URL, where `--dev` points the providers' APIs.
    public var simulatorURL: String {
        "http://\(simulator.host):\(simulator.port)"
    }

    /// For `serve --dev` and `switchboard simulate`: each provider channel the operator left without
    /// credentials gets `credentials`, and its API is pointed at the simulator when it still names
    /// the real provider (published secrets never go to a real API). Returns the channels filled.
    @discardableResult
    public mutating func fillWithSimulatorCredentials(_ credentials: SimulatorCredentials = .published) -> [SwitchboardCore.Channel] {
        var filled: [SwitchboardCore.Channel] = []
        if twilioSettings == nil {
            var account = twilio ?? TwilioAccount()
            if account.accountSid?.isEmpty ?? true { account.accountSid = credentials.twilioAccountSid }
            if account.authToken?.isEmpty ?? true { account.authToken = credentials.twilioAuthToken }
            if account.from?.isEmpty ?? true, account.messagingServiceSid?.isEmpty ?? true { account.from = credentials.twilioFrom }
            if account.apiBaseURL == TwilioAccount().apiBaseURL { account.apiBaseURL = simulatorURL }
            twilio = account
            filled.append(.sms)
        }
        if messengerSettings == nil {
            var app = messenger ?? MessengerApp()
            if app.appSecret?.isEmpty ?? true { app.appSecret = credentials.messengerAppSecret }
            if app.verifyToken?.isEmpty ?? true { app.verifyToken = credentials.messengerVerifyToken }
            if app.pageAccessToken?.isEmpty ?? true { app.pageAccessToken = credentials.messengerPageAccessToken }
            if app.pageId?.isEmpty ?? true { app.pageId = credentials.messengerPageId }
            if app.apiBaseURL == MessengerApp().apiBaseURL { app.apiBaseURL = simulatorURL }
            messenger = app
            filled.append(.messenger)
        }
        if rbmSettings == nil {
            var agent = rbm ?? RBMAgent()
            if agent.agentId?.isEmpty ?? true { agent.agentId = credentials.rbmAgentId }
            if agent.clientToken?.isEmpty ?? true { agent.clientToken = credentials.rbmClientToken }
            // A service-account file (the simulator then plays its token endpoint) takes the token's place.
            if (agent.accessToken?.isEmpty ?? true) && (agent.serviceAccountFile?.isEmpty ?? true) {
                agent.accessToken = credentials.rbmAccessToken
            }
            if agent.apiBaseURL == RBMAgent().apiBaseURL { agent.apiBaseURL = simulatorURL }
            rbm = agent
            filled.append(.rcs)
        }
        return filled
    }

    /// The configured secrets that are the simulator's published values, each named by its key:
    /// outside `--dev` such a channel would accept webhooks signed by anyone.
    public var publishedSecretProblems: [String] {
        let published = Set(SimulatorCredentials.published.secrets)
        let configured: [(name: String, value: String?)] = ChannelRegistry.providers.flatMap { $0.secrets(in: self) } + [
            ("webchat.secret (SWITCHBOARD_WEBCHAT_SECRET)", webchat.secret),
            ("apiToken (SWITCHBOARD_API_TOKEN)", apiToken),
        ]
        return configured.compactMap { key, value in
            guard let value, published.contains(value) else { return nil }
            return "\(key) is the simulator's published value, which anyone can sign with; set your provider's own secret (or run with --dev)"
        }
    }

    /// Each channel with whether it is enabled and, when it is not, why: the startup listing.
    public var channelStates: [(channel: SwitchboardCore.Channel, disabledBecause: String?)] {
        ChannelRegistry.providers.map { registration in
            (registration.channel, registration.registered(in: self).adapter == nil ? registration.missingCredentialsHint : nil)
        } + [
            (.webchat, webchat.enabled ? nil : "webchat.enabled is false"),
        ]
    }
}
