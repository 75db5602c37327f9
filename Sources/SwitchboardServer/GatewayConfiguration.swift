import Foundation
import SwitchboardCore
import MessengerAdapter
import RBMAdapter
import TwilioSMSAdapter

/// Everything the gateway is told at startup: `Config/switchboard.json` (or `--config` /
/// `SWITCHBOARD_CONFIG`), overridden by environment variables, then validated.
public struct GatewayConfiguration: Codable, Sendable, Equatable {
    public var host: String = "127.0.0.1"
    public var port: Int = 8080
    /// `sqlite:PATH`, a bare file path, or a `postgres://` URL.
    public var database: String = "sqlite:switchboard.sqlite"
    /// The external base URL providers call; defaults to `http://HOST:PORT`.
    public var publicURL: String?
    /// Bearer token for `/api/v1/*`; without one the API refuses every request.
    public var apiToken: String?
    /// Webhook bodies over this many bytes are refused with 413.
    public var maxBodyBytes: Int = 1 << 20
    public var bot: BotSettings = .init()
    public var outbox: OutboxSettings = .init()
    public var twilio: TwilioAccount?
    public var messenger: MessengerApp?
    public var rbm: RBMAgent?
    public var webchat: WebChatSettings = .init()
    /// Where `switchboard simulate` listens by default.
    public var simulator: SimulatorAddress = .init()

    public init() {}

    public struct BotSettings: Codable, Sendable, Equatable {
        public enum Kind: String, Codable, Sendable {
            /// Answers "You said: …" (the walking skeleton's bot).
            case echo
            /// No bot: inbound messages wait for agents.
            case none
        }
        public var kind: Kind = .echo
        public init(kind: Kind = .echo) { self.kind = kind }
    }

    public struct OutboxSettings: Codable, Sendable, Equatable {
        /// Sends in flight at once, over every channel.
        public var concurrency: Int = 64
        /// Attempts before a message fails with `retries_exhausted`.
        public var maxAttempts: Int = 6
        /// First retry delay in seconds; each later one doubles, with jitter.
        public var retryBaseSeconds: Double = 1
        /// Longest retry delay in seconds.
        public var retryMaxSeconds: Double = 300
        /// Provider call timeout in milliseconds.
        public var requestTimeoutMilliseconds: Int = 10_000
        /// How often the worker looks for due rows when nothing wakes it, in seconds.
        public var pollIntervalSeconds: Double = 1
        public init() {}
    }

    public struct TwilioAccount: Codable, Sendable, Equatable {
        public var accountSid: String?
        public var authToken: String?
        public var from: String?
        public var messagingServiceSid: String?
        public var apiBaseURL: String = "https://api.twilio.com"
        public init() {}
    }

    public struct MessengerApp: Codable, Sendable, Equatable {
        public var appSecret: String?
        public var verifyToken: String?
        public var pageAccessToken: String?
        public var pageId: String?
        public var apiBaseURL: String = "https://graph.facebook.com"
        public var apiVersion: String = "v21.0"
        public init() {}

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            appSecret = try c.decodeIfPresent(String.self, forKey: .appSecret)
            verifyToken = try c.decodeIfPresent(String.self, forKey: .verifyToken)
            pageAccessToken = try c.decodeIfPresent(String.self, forKey: .pageAccessToken)
            pageId = try c.decodeIfPresent(String.self, forKey: .pageId)
            apiBaseURL = try c.decodeIfPresent(String.self, forKey: .apiBaseURL) ?? "https://graph.facebook.com"
            apiVersion = try c.decodeIfPresent(String.self, forKey: .apiVersion) ?? "v21.0"
        }
    }

    public struct RBMAgent: Codable, Sendable, Equatable {
        public var agentId: String?
        public var clientToken: String?
        public var accessToken: String?
        public var apiBaseURL: String = "https://rcsbusinessmessaging.googleapis.com"
        public init() {}

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            agentId = try c.decodeIfPresent(String.self, forKey: .agentId)
            clientToken = try c.decodeIfPresent(String.self, forKey: .clientToken)
            accessToken = try c.decodeIfPresent(String.self, forKey: .accessToken)
            apiBaseURL = try c.decodeIfPresent(String.self, forKey: .apiBaseURL) ?? "https://rcsbusinessmessaging.googleapis.com"
        }
    }

    public struct WebChatSettings: Codable, Sendable, Equatable {
        public var enabled: Bool = true
        /// Key of the visitor tokens; when unset, the gateway makes one and keeps it in its database.
        /// Set it (`SWITCHBOARD_WEBCHAT_SECRET`) when several instances share visitors.
        public var secret: String?
        /// How long a visitor token is valid, in seconds (a visitor renews it on each visit).
        public var sessionLifetimeSeconds: Double = 30 * 24 * 3600
        public init() {}

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            enabled = try c.decodeIfPresent(Bool.self, forKey: .enabled) ?? true
            secret = try c.decodeIfPresent(String.self, forKey: .secret)
            sessionLifetimeSeconds = try c.decodeIfPresent(Double.self, forKey: .sessionLifetimeSeconds) ?? 30 * 24 * 3600
        }
    }

    public struct SimulatorAddress: Codable, Sendable, Equatable {
        public var host: String = "127.0.0.1"
        public var port: Int = 8090
        public init() {}
    }

    // Every key is optional in the file; what is missing keeps its default.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let defaults = GatewayConfiguration()
        host = try c.decodeIfPresent(String.self, forKey: .host) ?? defaults.host
        port = try c.decodeIfPresent(Int.self, forKey: .port) ?? defaults.port
        database = try c.decodeIfPresent(String.self, forKey: .database) ?? defaults.database
        publicURL = try c.decodeIfPresent(String.self, forKey: .publicURL)
        apiToken = try c.decodeIfPresent(String.self, forKey: .apiToken)
        maxBodyBytes = try c.decodeIfPresent(Int.self, forKey: .maxBodyBytes) ?? defaults.maxBodyBytes
        bot = try c.decodeIfPresent(BotSettings.self, forKey: .bot) ?? defaults.bot
        outbox = try c.decodeIfPresent(OutboxSettings.self, forKey: .outbox) ?? defaults.outbox
        twilio = try c.decodeIfPresent(TwilioAccount.self, forKey: .twilio)
        messenger = try c.decodeIfPresent(MessengerApp.self, forKey: .messenger)
        rbm = try c.decodeIfPresent(RBMAgent.self, forKey: .rbm)
        webchat = try c.decodeIfPresent(WebChatSettings.self, forKey: .webchat) ?? defaults.webchat
        simulator = try c.decodeIfPresent(SimulatorAddress.self, forKey: .simulator) ?? defaults.simulator
    }

    /// The base URL providers call, without a trailing slash.
    public var effectivePublicURL: String {
        var url = publicURL ?? "http://\(host):\(port)"
        while url.hasSuffix("/") { url.removeLast() }
        return url
    }

    /// The Twilio adapter's settings, or nil when the channel lacks its secrets (it is then disabled).
    public var twilioSettings: TwilioSettings? {
        guard let twilio, let sid = twilio.accountSid, !sid.isEmpty, let token = twilio.authToken, !token.isEmpty,
              (twilio.from?.isEmpty == false || twilio.messagingServiceSid?.isEmpty == false)
        else { return nil }
        return TwilioSettings(
            accountSid: sid, authToken: token, from: twilio.from, messagingServiceSid: twilio.messagingServiceSid,
            apiBaseURL: twilio.apiBaseURL, statusCallbackURL: effectivePublicURL + "/webhooks/twilio/status")
    }

    /// The Messenger adapter's settings, or nil when the app secret, verify token or page token is missing.
    public var messengerSettings: MessengerSettings? {
        guard let messenger, let secret = messenger.appSecret, !secret.isEmpty, let verify = messenger.verifyToken, !verify.isEmpty,
              let token = messenger.pageAccessToken, !token.isEmpty
        else { return nil }
        return MessengerSettings(
            appSecret: secret, verifyToken: verify, pageAccessToken: token, pageId: messenger.pageId,
            apiBaseURL: messenger.apiBaseURL, apiVersion: messenger.apiVersion)
    }

    /// The RBM adapter's settings, or nil when the agent id, client token or access token is missing.
    public var rbmSettings: RBMSettings? {
        guard let rbm, let agent = rbm.agentId, !agent.isEmpty, let client = rbm.clientToken, !client.isEmpty,
              let access = rbm.accessToken, !access.isEmpty
        else { return nil }
        return RBMSettings(agentId: agent, clientToken: client, accessToken: access, apiBaseURL: rbm.apiBaseURL)
    }

    /// The SQLite file path named by `database`, or nil for a non-SQLite URL.
    public var sqlitePath: String? {
        if database.hasPrefix("sqlite:") { return String(database.dropFirst("sqlite:".count)) }
        if database.contains("://") { return nil }
        return database
    }
}
