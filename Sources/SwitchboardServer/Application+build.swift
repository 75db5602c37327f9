import CurlHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdWebSocket
import Logging
import NIOCore
import Prometheus
import ServiceLifecycle
import SwitchboardCore
import SwitchboardFlows
import SwitchboardStorage
import MessengerAdapter
import RBMAdapter

/// The gateway's parts, assembled once: used by `switchboard serve` and by the tests.
public struct Gateway: Sendable {
    public let configuration: GatewayConfiguration
    /// The provider channels, each adapter built once (a service-account key file is read at startup only).
    public let channels: [RegisteredChannel]
    public let store: any MessageStore
    public let client: CurlHTTPClient
    public let outbox: OutboxWorker
    public let pipeline: IngestPipeline
    public let webChat: WebChatHub
    public let rcsCapabilities: RCSCapabilityTable
    public let events: EventBus
    public let remoteBot: RemoteBotDispatcher?
    /// Event webhooks' sender; nil without a subscriber.
    public let eventWebhooks: EventWebhookDispatcher?
    /// Fans broadcasts out.
    public let broadcasts: BroadcastWorker
    /// Live updates to and from the other instances on the same database (PostgreSQL only).
    public let instanceRelay: InstanceEventRelay?
    /// The console's and the widget's files.
    public let webAssets: WebAssets
    /// Uploaded and fetched media (docs/media.md).
    public let media: MediaDirectory
    /// Signs the public URLs of media.
    public let mediaURLs: MediaURLSigner
    /// Fetches inbound media into `media`, and its HTTP client.
    public let mediaFetcher: MediaFetcher
    let mediaClient: CurlHTTPClient
    let webChatTokens: WebChatToken
    public let logger: Logger
    let now: @Sendable () -> Date
    /// Open connections and the header deadline of new ones.
    public let connectionGuard: ConnectionGuard
    /// Open event streams (`GET /api/v1/events`).
    public let eventStreams: OpenSlots
    /// Web-chat sessions issued per client address.
    let sessionRate: ClientRateLimiter

    /// Opens the database (migrating it) and wires the adapters, the pipeline and the outbox.
    public init(configuration: GatewayConfiguration, logger: Logger, now: @escaping @Sendable () -> Date = Date.init) async throws {
        let store = try await Self.openStore(configuration, logger: logger)
        do {
            try await self.init(configuration: configuration, store: store, logger: logger, now: now)
        } catch {
            await store.close()
            throw error
        }
    }

    /// The store `configuration.database` names: the SQLite file, or the PostgreSQL database
    /// (connected, migrated once for all instances, pacing shared by the deployment).
    public static func openStore(_ configuration: GatewayConfiguration, logger: Logger) async throws -> any MessageStore {
        switch configuration.databaseLocation {
        case .failure(let problem):
            throw ConfigurationError(problems: ["database (SWITCHBOARD_DATABASE): \(problem)"])
        case .success(.sqlite(let path)):
            return try SQLiteStore(path: path, logger: logger)
        case .success(.postgres(let location)):
            var pacing: [SwitchboardCore.Channel: PostgresStore.SharedPace] = [:]
            for (name, pace) in configuration.outbox.pacing {
                guard let channel = SwitchboardCore.Channel(rawValue: name), pace.perSecond > 0 else { continue }
                pacing[channel] = .init(perSecond: pace.perSecond, burst: pace.burst)
            }
            return try await PostgresStore.open(location, poolSize: configuration.databasePoolSize, pacing: pacing, logger: logger)
        }
    }

    /// Wires the adapters, the pipeline and the outbox around an open store.
    public init(
        configuration: GatewayConfiguration, store: any MessageStore, logger: Logger, now: @escaping @Sendable () -> Date = Date.init
    ) async throws {
        _ = GatewayMetrics.bootstrapped
        self.configuration = configuration
        let channels = ChannelRegistry.registered(in: configuration)
        self.channels = channels
        let rbm = channels.lazy.compactMap { $0.adapter as? RBMAdapter }.first
        self.logger = logger
        self.store = store
        self.client = CurlHTTPClient(logger: logger)
        let outboundAdapters: [any OutboundChannelAdapter] = channels.compactMap(\.adapter)
        self.webChat = WebChatHub(store: store, logger: logger)
        let bus = EventBus()
        self.events = bus
        let hub = webChat
        var webChatDelivery: (@Sendable (Message) async -> Void)?
        if configuration.webchat.enabled {
            webChatDelivery = { message in await hub.pushSentElsewhere(message) }
        }
        if let notifications = store as? any CrossInstanceNotifications {
            self.instanceRelay = InstanceEventRelay(
                bus: bus, store: store, notifications: notifications, webChatDelivery: webChatDelivery, logger: logger)
        } else {
            self.instanceRelay = nil
        }
        var webAssets = WebAssets.locate()
        webAssets.imageSources += channels.compactMap { $0.apiBaseURL.flatMap(Self.plainHTTPOrigin) }
        self.webAssets = webAssets
        if webAssets.root == nil {
            logger.warning("console files not found: GET / answers 503 (set SWITCHBOARD_WEB_ROOT)")
        }
        // Kept in the database, so every instance signs and checks visitor tokens with one key.
        let secret: String
        if let configured = configuration.webchat.secret {
            secret = configured
        } else {
            secret = try await store.secret(named: "webchat-token-key") {
                (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
            }
        }
        self.webChatTokens = WebChatToken(secret: secret)
        self.media = try MediaDirectory(root: configuration.mediaDirectoryPath)
        let mediaKey = try await store.secret(named: "media-url-key") {
            (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
        }
        self.mediaURLs = MediaURLSigner(
            secret: mediaKey, publicURL: configuration.effectivePublicURL, lifetime: configuration.media.urlLifetimeSeconds)
        // RBM with a service account: one token cache for the sends and the capability lookups.
        var authorizations: [SwitchboardCore.Channel: any ProviderAuthorization] = [:]
        if case .serviceAccount(let account) = rbm?.settings.credentials {
            authorizations[.rcs] = GoogleAccessTokens(account: account, client: client, logger: logger, now: now)
        }
        self.rcsCapabilities = RCSCapabilityTable(
            file: try RCSCapabilityTable.load(path: configuration.rcsCapabilities.file), store: store,
            adapter: rbm, client: client, authorization: authorizations[.rcs],
            ttlSeconds: configuration.rcsCapabilities.ttlSeconds, logger: logger)
        self.outbox = OutboxWorker(
            store: store, adapters: outboundAdapters, localChannels: configuration.webchat.enabled ? [webChat] : [], client: client,
            authorizations: authorizations,
            settings: configuration.outbox, rcsCapabilities: rcsCapabilities, fallbackToSMS: configuration.rcsCapabilities.fallbackToSMS,
            allowHumanAgentTag: configuration.messenger?.allowHumanAgentTag ?? false, events: events, logger: logger, now: now)
        let bot: (any Bot)?
        switch configuration.bot.kind {
        case .echo: bot = EchoBot()
        case .none, .http: bot = nil
        case .flow: bot = try FlowBot(flows: try Flow.loadDirectory(configuration.bot.flowsDirectory), defaultFlow: configuration.bot.flow)
        }
        let policy = InboundPolicy(
            stopConfirmation: configuration.optOut.stopConfirmation, startConfirmation: configuration.optOut.startConfirmation,
            helpText: configuration.optOut.helpText, remoteBot: configuration.bot.kind == .http)
        let (store, client, outbox, events) = (store, client, outbox, events)
        let remoteBot: RemoteBotDispatcher? = configuration.bot.kind == .http ? configuration.bot.http.map {
            RemoteBotDispatcher(
                store: store, client: client, settings: $0, outbox: outbox, events: events,
                destinations: DestinationResolver(policy: configuration.destinationPolicy), logger: logger, now: now)
        } : nil
        self.remoteBot = remoteBot
        // The store writes deliveries only for the subscribers it is told of (none: not at all).
        try await store.syncWebhookSubscribers(configuration.eventWebhooks.subscribers.map(\.subscription), at: now())
        self.eventWebhooks = EventWebhookDispatcher(
            store: store, client: client, settings: configuration.eventWebhooks,
            destinations: DestinationResolver(policy: configuration.destinationPolicy), logger: logger, now: now)
        var pipeline = IngestPipeline(store: store, bot: bot, policy: policy, outbox: outbox, events: events, now: now)
        if let remoteBot {
            pipeline.remoteBotWake = { @Sendable in remoteBot.wake() }
        }
        // Inbound media is fetched with a client of its own: its answers may be as large as
        // media.maxBytes, the provider calls' client keeps a smaller limit.
        let mediaClient = CurlHTTPClient(
            configuration: .init(maxConnectionsPerHost: 4, maxCachedConnections: 16, maxResponseBytes: configuration.media.maxBytes),
            logger: logger)
        self.mediaClient = mediaClient
        let sources = Dictionary(
            channels.compactMap { registered in (registered.adapter as? any InboundMediaSource).map { (registered.channel, $0) } },
            uniquingKeysWith: { first, _ in first })
        let mediaFetcher = MediaFetcher(
            store: store, directory: media, signer: mediaURLs, transport: mediaClient,
            destinations: DestinationResolver(policy: configuration.destinationPolicy), sources: sources,
            maxBytes: configuration.media.maxBytes, events: events, logger: logger, now: now)
        self.mediaFetcher = mediaFetcher
        pipeline.mediaWake = { @Sendable in mediaFetcher.wake() }
        self.pipeline = pipeline
        self.now = now
        self.broadcasts = BroadcastWorker(
            store: store, outbox: outbox, events: events, settings: configuration.broadcasts, pacing: configuration.outbox.pacing,
            enabledChannels: Set(Self.enabledChannels(channels, webchat: configuration.webchat.enabled)), logger: logger, now: now)
        self.connectionGuard = ConnectionGuard(
            maxConnections: configuration.limits.maxConnections, headerTimeoutSeconds: configuration.limits.headerTimeoutSeconds)
        self.eventStreams = OpenSlots(limit: configuration.limits.eventStreams)
        self.sessionRate = ClientRateLimiter(perMinute: configuration.limits.webChatSessionsPerMinute)
    }

    /// `http://host:port` of a plain-http URL (a provider API on a development machine), else nil.
    static func plainHTTPOrigin(_ url: String) -> String? {
        guard url.lowercased().hasPrefix("http://") else { return nil }
        let rest = url.dropFirst("http://".count)
        let authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        guard !authority.isEmpty, !authority.contains(where: { $0 == " " || $0 == ";" || $0 == "'" }) else { return nil }
        return "http://" + authority
    }

    /// Channels whose secrets are configured.
    public var enabledChannels: [SwitchboardCore.Channel] {
        Self.enabledChannels(channels, webchat: configuration.webchat.enabled)
    }

    static func enabledChannels(_ channels: [RegisteredChannel], webchat: Bool) -> [SwitchboardCore.Channel] {
        channels.filter { $0.adapter != nil }.map(\.channel) + (webchat ? [.webchat] : [])
    }

    /// The router with every route of the gateway.
    public func buildRouter() -> Router<GatewayRequestContext> {
        let router = Router(context: GatewayRequestContext.self)
        let routes = RouteTable()
        router.add(middleware: JSONErrorMiddleware(routes: routes))
        router.add(middleware: RequestLogMiddleware(level: .debug))
        router.add(middleware: MetricsMiddleware())
        router.get("healthz") { _, _ in try jsonResponse(["status": "ok"]) }
        // Metrics tell a stranger traffic volumes and channel names: behind the API token (Prometheus'
        // `authorization` scrape setting) unless the operator makes them public.
        let metrics = configuration.metricsPublic ? router.group("metrics") : router.group("metrics")
            .add(middleware: BearerTokenMiddleware(token: configuration.apiToken))
        metrics.get { _, _ -> Response in
            var headers = HTTPFields()
            headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: GatewayMetrics.registry.emitToBuffer())))
        }
        router.get("readyz") { _, _ in
            do {
                try await store.checkReadiness()
            } catch {
                throw GatewayError(.serviceUnavailable, code: "not_ready", message: "the database does not answer")
            }
            return try jsonResponse(["status": "ready"])
        }
        let webhooks = WebhookRoutes(
            pipeline: pipeline, publicURL: configuration.effectivePublicURL, maxBodyBytes: configuration.maxBodyBytes,
            maxFormParameters: configuration.limits.maxFormParameters, maxJSONDepth: configuration.limits.maxJSONDepth)
        for channel in channels {
            webhooks.add(channel, to: router)
        }
        if configuration.webchat.enabled {
            webChatRoutes.addSessions(to: router)
            // Without the upgrade headers, the socket's URL is still known: say what it wants.
            let tokens = webChatTokens
            router.get("webchat/ws") { request, _ -> Response in
                guard let token = request.uri.queryParameters["token"], tokens.visitor(for: String(token), now: Date()) != nil else {
                    throw GatewayError(.unauthorized, code: "invalid_session", message: "a valid visitor token is required (POST /webchat/sessions)")
                }
                var refusal = GatewayError(
                    .upgradeRequired, code: "upgrade_required", message: "GET /webchat/ws is a WebSocket (docs/webchat-protocol.md)")
                refusal.headers[.upgrade] = "websocket"
                throw refusal
            }
        }
        let broadcasts = broadcasts
        APIRoutes(
            store: store, outbox: outbox, rcsCapabilities: rcsCapabilities, events: events, eventStreams: eventStreams,
            enabledChannels: Set(enabledChannels),
            allowHumanAgentTag: configuration.messenger?.allowHumanAgentTag ?? false, now: now,
            broadcastWake: { broadcasts.wake() }
        ).add(to: router, apiToken: configuration.apiToken)
        MediaRoutes(directory: media, signer: mediaURLs, maxBytes: configuration.media.maxBytes, logger: logger, now: now)
            .add(to: router, apiToken: configuration.apiToken)
        webAssets.add(to: router)
        routes.fill(from: router)
        return router
    }

    var webChatRoutes: WebChatRoutes {
        WebChatRoutes(
            pipeline: pipeline, store: store, hub: webChat, tokens: webChatTokens,
            sessionLifetime: configuration.webchat.sessionLifetimeSeconds, limits: configuration.limits, sessionRate: sessionRate)
    }

    /// The router for WebSocket upgrades (`GET /webchat/ws`).
    func buildWebSocketRouter() -> Router<GatewayRequestContext> {
        let router = Router(context: GatewayRequestContext.self)
        router.add(middleware: JSONErrorMiddleware())
        if configuration.webchat.enabled { webChatRoutes.addSocket(to: router) }
        return router
    }

    /// The Hummingbird application with the outbox worker and the HTTP client as its services.
    public func buildApplication(
        onServerRunning: @escaping @Sendable (any NIOCore.Channel) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        let limits = configuration.limits
        let server = connectionGuard.server(
            webSocketRouter: buildWebSocketRouter(),
            configuration: .init(
                http1: .init(idleTimeout: .milliseconds(Int64(limits.idleTimeoutSeconds * 1000))),
                // A peer that does not answer our close frame within a second is disconnected (a shutdown
                // must not wait on it).
                ws: .init(maxFrameSize: WebChatRoutes.maxFrameBytes, closeTimeout: .seconds(1))))
        return Application(
            router: buildRouter(),
            server: server,
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "switchboard"),
            services: [HTTPClientService(client: client), HTTPClientService(client: mediaClient), outbox, mediaFetcher]
                + (remoteBot.map { [$0] } ?? [])
                + (eventWebhooks.map { [$0] } ?? []) + [broadcasts]
                + (instanceRelay.map { [$0] } ?? []),
            onServerRunning: onServerRunning,
            logger: logger)
    }
}

/// Shuts the libcurl client down when the service group stops (after the outbox worker has).
struct HTTPClientService: Service {
    let client: CurlHTTPClient

    func run() async throws {
        try? await gracefulShutdown()
        client.shutdown()
    }
}
