import Foundation
import SwitchboardCore
import SwitchboardStorage
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
    /// PostgreSQL connections per instance (`SWITCHBOARD_DATABASE_POOL_SIZE`); unused on SQLite.
    public var databasePoolSize: Int = 10
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
    public var optOut: OptOutSettings = .init()
    public var rcsCapabilities: RCSCapabilitySettings = .init()
    /// Where `switchboard simulate` listens by default.
    public var simulator: SimulatorAddress = .init()
    /// Bounds on what one client can hold or send (docs/reliability.md lists each default).
    public var limits: Limits = .init()
    /// Whether `GET /metrics` answers without the API token (for a scraper on a private network).
    public var metricsPublic: Bool = false
    /// How long a graceful shutdown (SIGTERM) may take before what is still running is cancelled.
    public var shutdownTimeoutSeconds: Double = 10
    /// CIDR blocks that URLs taken from data (the external bot's) may resolve to although private,
    /// loopback or link-local (`SWITCHBOARD_ALLOW_PRIVATE_URLS`, comma-separated). Empty: refused.
    public var allowPrivateURLs: [String] = []
    /// Event webhooks' subscribers and delivery rules.
    public var eventWebhooks: EventWebhookSettings = .init()
    /// How broadcasts fan out.
    public var broadcasts: BroadcastSettings = .init()
    /// Where uploaded and fetched media are kept, and how much.
    public var media: MediaSettings = .init()

    /// The destination policy `allowPrivateURLs` describes (entries that do not parse are reported by `validate()`).
    public var destinationPolicy: DestinationPolicy {
        DestinationPolicy(allowed: allowPrivateURLs.compactMap(AddressRange.init))
    }

    public init() {}

    /// What one connection, visitor or client address may hold or send. Correctly signed provider
    /// webhooks are never rate-limited (a 429 makes some providers drop the message); the limits on
    /// their shape bound the work done before a signature is checked.
    public struct Limits: Codable, Sendable, Equatable {
        /// A connection that sends nothing for this long (no request, or a request that stalls) is closed.
        public var idleTimeoutSeconds: Double = 60
        /// A new connection must complete its first request's headers within this many seconds.
        public var headerTimeoutSeconds: Double = 10
        /// Open connections at once; further ones are closed as they arrive.
        public var maxConnections: Int = 2048
        /// Open web-chat WebSockets per visitor (more tabs close with code 1008).
        public var webSocketsPerVisitor: Int = 5
        /// Open event streams (`GET /api/v1/events`) at once; more get 429.
        public var eventStreams: Int = 64
        /// Web-chat sessions (`POST /webchat/sessions`) per client address per minute; more get 429.
        public var webChatSessionsPerMinute: Int = 20
        /// Frames a web-chat socket may send per second, and in a burst; beyond, the socket closes with 1008.
        public var webChatFramesPerSecond: Double = 5
        public var webChatFrameBurst: Int = 20
        /// Form parameters in a webhook body before anything is verified (Twilio sends about 20-60).
        public var maxFormParameters: Int = 256
        /// Nesting of a JSON webhook body before anything is verified (Meta's and Google's are under 10).
        public var maxJSONDepth: Int = 32
        /// How long a visitor may keep renewing one session before a new one is needed, in seconds.
        public var webChatSessionMaxAgeSeconds: Double = 90 * 24 * 3600

        public init() {}

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            let d = Limits()
            idleTimeoutSeconds = try c.decodeIfPresent(Double.self, forKey: .idleTimeoutSeconds) ?? d.idleTimeoutSeconds
            headerTimeoutSeconds = try c.decodeIfPresent(Double.self, forKey: .headerTimeoutSeconds) ?? d.headerTimeoutSeconds
            maxConnections = try c.decodeIfPresent(Int.self, forKey: .maxConnections) ?? d.maxConnections
            webSocketsPerVisitor = try c.decodeIfPresent(Int.self, forKey: .webSocketsPerVisitor) ?? d.webSocketsPerVisitor
            eventStreams = try c.decodeIfPresent(Int.self, forKey: .eventStreams) ?? d.eventStreams
            webChatSessionsPerMinute = try c.decodeIfPresent(Int.self, forKey: .webChatSessionsPerMinute) ?? d.webChatSessionsPerMinute
            webChatFramesPerSecond = try c.decodeIfPresent(Double.self, forKey: .webChatFramesPerSecond) ?? d.webChatFramesPerSecond
            webChatFrameBurst = try c.decodeIfPresent(Int.self, forKey: .webChatFrameBurst) ?? d.webChatFrameBurst
            maxFormParameters = try c.decodeIfPresent(Int.self, forKey: .maxFormParameters) ?? d.maxFormParameters
            maxJSONDepth = try c.decodeIfPresent(Int.self, forKey: .maxJSONDepth) ?? d.maxJSONDepth
            webChatSessionMaxAgeSeconds = try c.decodeIfPresent(Double.self, forKey: .webChatSessionMaxAgeSeconds)
                ?? d.webChatSessionMaxAgeSeconds
        }

        /// Every problem with these limits, named by key.
        var problems: [String] {
            var problems: [String] = []
            func positive(_ value: Double, _ key: String, atMost: Double = 86_400) {
                if !(value > 0 && value <= atMost) { problems.append("limits.\(key): must be above 0 and at most \(Int(atMost))") }
            }
            func atLeastOne(_ value: Int, _ key: String) { if value < 1 { problems.append("limits.\(key): must be at least 1") } }
            positive(idleTimeoutSeconds, "idleTimeoutSeconds")
            positive(headerTimeoutSeconds, "headerTimeoutSeconds")
            positive(webChatFramesPerSecond, "webChatFramesPerSecond", atMost: 10_000)
            positive(webChatSessionMaxAgeSeconds, "webChatSessionMaxAgeSeconds", atMost: 3650 * 86_400)
            atLeastOne(maxConnections, "maxConnections")
            atLeastOne(webSocketsPerVisitor, "webSocketsPerVisitor")
            atLeastOne(eventStreams, "eventStreams")
            atLeastOne(webChatSessionsPerMinute, "webChatSessionsPerMinute")
            atLeastOne(webChatFrameBurst, "webChatFrameBurst")
            atLeastOne(maxFormParameters, "maxFormParameters")
            atLeastOne(maxJSONDepth, "maxJSONDepth")
            return problems
        }
    }

    public struct BotSettings: Codable, Sendable, Equatable {
        public enum Kind: String, Codable, Sendable {
            /// Answers "You said: …" (a probe).
            case echo
            /// The built-in flows of `flowsDirectory`, starting contacts on `flow`.
            case flow
            /// An external bot over HTTP (`http`).
            case http
            /// No bot: inbound messages wait for agents.
            case none
        }
        public var kind: Kind = .echo
        /// The flow new conversations start (bot kind `flow`).
        public var flow: String = "welcome"
        public var flowsDirectory: String = "Config/flows"
        /// Bot kind `http`: where and how to call it.
        public var http: RemoteBotSettings?
        public init(kind: Kind = .echo) { self.kind = kind }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            kind = try c.decodeIfPresent(Kind.self, forKey: .kind) ?? .echo
            flow = try c.decodeIfPresent(String.self, forKey: .flow) ?? "welcome"
            flowsDirectory = try c.decodeIfPresent(String.self, forKey: .flowsDirectory) ?? "Config/flows"
            http = try c.decodeIfPresent(RemoteBotSettings.self, forKey: .http)
        }
    }

    /// The external bot's URL, the HMAC key of its signature header, and the call's limits.
    public struct RemoteBotSettings: Codable, Sendable, Equatable {
        public var url: String
        public var secret: String
        public var timeoutMilliseconds: Int = 5_000
        public var maxAttempts: Int = 3

        public init(url: String, secret: String, timeoutMilliseconds: Int = 5_000, maxAttempts: Int = 3) {
            self.url = url
            self.secret = secret
            self.timeoutMilliseconds = timeoutMilliseconds
            self.maxAttempts = maxAttempts
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            url = try c.decode(String.self, forKey: .url)
            secret = try c.decode(String.self, forKey: .secret)
            timeoutMilliseconds = try c.decodeIfPresent(Int.self, forKey: .timeoutMilliseconds) ?? 5_000
            maxAttempts = try c.decodeIfPresent(Int.self, forKey: .maxAttempts) ?? 3
        }
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
        /// A claimed row's lease is two request timeouts plus this: how long after an instance
        /// died (`kill -9`, a lost machine) another instance takes its rows over.
        public var leaseMarginSeconds: Double = 30
        /// Sends per second (and burst) per channel and sender; a channel without an entry is not paced.
        /// A Twilio long code is allowed about one message a second, a short code much more.
        public var pacing: [String: Pace] = ["sms": Pace(perSecond: 1, burst: 5)]
        public init() {}

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            let d = OutboxSettings()
            concurrency = try c.decodeIfPresent(Int.self, forKey: .concurrency) ?? d.concurrency
            maxAttempts = try c.decodeIfPresent(Int.self, forKey: .maxAttempts) ?? d.maxAttempts
            retryBaseSeconds = try c.decodeIfPresent(Double.self, forKey: .retryBaseSeconds) ?? d.retryBaseSeconds
            retryMaxSeconds = try c.decodeIfPresent(Double.self, forKey: .retryMaxSeconds) ?? d.retryMaxSeconds
            requestTimeoutMilliseconds = try c.decodeIfPresent(Int.self, forKey: .requestTimeoutMilliseconds) ?? d.requestTimeoutMilliseconds
            pollIntervalSeconds = try c.decodeIfPresent(Double.self, forKey: .pollIntervalSeconds) ?? d.pollIntervalSeconds
            leaseMarginSeconds = try c.decodeIfPresent(Double.self, forKey: .leaseMarginSeconds) ?? d.leaseMarginSeconds
            pacing = try c.decodeIfPresent([String: Pace].self, forKey: .pacing) ?? d.pacing
        }
    }

    /// A token bucket: `perSecond` tokens a second, at most `burst` saved up.
    public struct Pace: Codable, Sendable, Equatable {
        public var perSecond: Double
        public var burst: Int
        public init(perSecond: Double, burst: Int) {
            self.perSecond = perSecond
            self.burst = burst
        }
    }

    /// Answers to SMS keywords (docs/outbound.md).
    public struct OptOutSettings: Codable, Sendable, Equatable {
        /// Nil: Twilio's own opt-out confirmation (on by default for long codes) is enough.
        public var stopConfirmation: String?
        public var startConfirmation: String? = "You are subscribed again. Reply STOP to unsubscribe."
        public var helpText: String? = "Reply STOP to unsubscribe, START to subscribe again."
        public init() {}

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            let d = OptOutSettings()
            stopConfirmation = try c.decodeIfPresent(String.self, forKey: .stopConfirmation)
            startConfirmation = c.contains(.startConfirmation) ? try c.decodeIfPresent(String.self, forKey: .startConfirmation) : d.startConfirmation
            helpText = c.contains(.helpText) ? try c.decodeIfPresent(String.self, forKey: .helpText) : d.helpText
        }
    }

    /// The RCS capability table: `Config/rcs-capabilities.json` and the cache of RBM lookups.
    public struct RCSCapabilitySettings: Codable, Sendable, Equatable {
        /// The static table (features, per-phone or prefix entries); relative to the working directory.
        public var file: String? = "Config/rcs-capabilities.json"
        /// How long a looked-up entry is trusted, in seconds.
        public var ttlSeconds: Double = 24 * 3600
        /// Send over SMS when the phone has no RCS (and SMS is configured).
        public var fallbackToSMS: Bool = true
        public init() {}

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            let d = RCSCapabilitySettings()
            file = c.contains(.file) ? try c.decodeIfPresent(String.self, forKey: .file) : d.file
            ttlSeconds = try c.decodeIfPresent(Double.self, forKey: .ttlSeconds) ?? d.ttlSeconds
            fallbackToSMS = try c.decodeIfPresent(Bool.self, forKey: .fallbackToSMS) ?? d.fallbackToSMS
        }
    }

    /// The provider channels' sections, each brought by its adapter's target.
    public typealias TwilioAccount = TwilioConfigurationSection
    public typealias MessengerApp = MessengerConfigurationSection
    public typealias RBMAgent = RBMConfigurationSection

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
        databasePoolSize = try c.decodeIfPresent(Int.self, forKey: .databasePoolSize) ?? defaults.databasePoolSize
        publicURL = try c.decodeIfPresent(String.self, forKey: .publicURL)
        apiToken = try c.decodeIfPresent(String.self, forKey: .apiToken)
        maxBodyBytes = try c.decodeIfPresent(Int.self, forKey: .maxBodyBytes) ?? defaults.maxBodyBytes
        bot = try c.decodeIfPresent(BotSettings.self, forKey: .bot) ?? defaults.bot
        outbox = try c.decodeIfPresent(OutboxSettings.self, forKey: .outbox) ?? defaults.outbox
        twilio = try c.decodeIfPresent(TwilioAccount.self, forKey: .twilio)
        messenger = try c.decodeIfPresent(MessengerApp.self, forKey: .messenger)
        rbm = try c.decodeIfPresent(RBMAgent.self, forKey: .rbm)
        webchat = try c.decodeIfPresent(WebChatSettings.self, forKey: .webchat) ?? defaults.webchat
        optOut = try c.decodeIfPresent(OptOutSettings.self, forKey: .optOut) ?? defaults.optOut
        rcsCapabilities = try c.decodeIfPresent(RCSCapabilitySettings.self, forKey: .rcsCapabilities) ?? defaults.rcsCapabilities
        simulator = try c.decodeIfPresent(SimulatorAddress.self, forKey: .simulator) ?? defaults.simulator
        limits = try c.decodeIfPresent(Limits.self, forKey: .limits) ?? defaults.limits
        metricsPublic = try c.decodeIfPresent(Bool.self, forKey: .metricsPublic) ?? defaults.metricsPublic
        shutdownTimeoutSeconds = try c.decodeIfPresent(Double.self, forKey: .shutdownTimeoutSeconds) ?? defaults.shutdownTimeoutSeconds
        allowPrivateURLs = try c.decodeIfPresent([String].self, forKey: .allowPrivateURLs) ?? defaults.allowPrivateURLs
        eventWebhooks = try c.decodeIfPresent(EventWebhookSettings.self, forKey: .eventWebhooks) ?? defaults.eventWebhooks
        broadcasts = try c.decodeIfPresent(BroadcastSettings.self, forKey: .broadcasts) ?? defaults.broadcasts
        media = try c.decodeIfPresent(MediaSettings.self, forKey: .media) ?? defaults.media
    }

    /// The base URL providers call, without a trailing slash.
    public var effectivePublicURL: String {
        var url = publicURL ?? "http://\(host):\(port)"
        while url.hasSuffix("/") { url.removeLast() }
        return url
    }

    /// The Twilio adapter's settings, or nil when the channel lacks its secrets (it is then disabled).
    public var twilioSettings: TwilioSettings? { twilio?.settings(publicURL: effectivePublicURL) }

    /// The Messenger adapter's settings, or nil when the app secret, verify token or page token is missing.
    public var messengerSettings: MessengerSettings? { messenger?.settings(publicURL: effectivePublicURL) }

    /// The RBM adapter's settings, or nil when the agent id, client token or credentials are missing.
    public var rbmSettings: RBMSettings? { rbm?.settings(publicURL: effectivePublicURL) }

    /// The SQLite file path named by `database`, or nil for a PostgreSQL (or invalid) URL.
    public var sqlitePath: String? {
        if case .sqlite(let path) = try? DatabaseLocation(parsing: database) { return path }
        return nil
    }

    /// The database `database` names, or the problem with it (never naming the password).
    public var databaseLocation: Result<DatabaseLocation, DatabaseLocationError> {
        Result { () throws(DatabaseLocationError) in try DatabaseLocation(parsing: database) }
    }
}
