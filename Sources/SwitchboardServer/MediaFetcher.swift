import CurlHTTPClient
import Foundation
import Logging
import ServiceLifecycle
import SwitchboardCore
import SwitchboardStorage

/// Fetches inbound media into the media directory, in the background, from the durable queue the
/// ingest transaction fills (`media_fetches`): the provider's URL with its credentials where it
/// wants them, redirects followed only within its hosts, every address checked
/// (`SWITCHBOARD_ALLOW_PRIVATE_URLS`), the type and size limits of kept media, and retries for
/// what may pass later. The attachment's `url` then becomes the gateway's copy, `providerUrl`
/// keeps the provider's; a fetch that cannot succeed leaves `fetch: failed` with the reason.
public final class MediaFetcher: Service, Sendable {
    private let store: any MessageStore
    private let directory: MediaDirectory
    private let signer: MediaURLSigner
    private let transport: any HTTPTransport
    private let destinations: DestinationResolver
    private let sources: [SwitchboardCore.Channel: any InboundMediaSource]
    private let maxBytes: Int
    private let events: EventBus
    private let logger: Logger
    private let now: @Sendable () -> Date
    private let wakeups = Wakeups()
    /// Fetches at once (each holds at most `maxBytes` in memory).
    static let concurrency = 2
    static let lease: Double = 120

    public init(
        store: any MessageStore, directory: MediaDirectory, signer: MediaURLSigner, transport: any HTTPTransport,
        destinations: DestinationResolver, sources: [SwitchboardCore.Channel: any InboundMediaSource], maxBytes: Int, events: EventBus,
        logger: Logger, now: @escaping @Sendable () -> Date
    ) {
        self.store = store
        self.directory = directory
        self.signer = signer
        self.transport = transport
        self.destinations = destinations
        self.sources = sources
        self.maxBytes = maxBytes
        self.events = events
        self.logger = logger
        self.now = now
    }

    /// A message with media was stored: fetch now rather than at the next tick.
    public func wake() {
        wakeups.wake()
    }

    public func run() async {
        let ticker = wakeups.tick(every: 1)
        defer { ticker.cancel() }
        await withGracefulShutdownHandler {
            for await _ in wakeups.stream {
                while await fetchDue() > 0, !Task.isCancelled {}
            }
        } onGracefulShutdown: { [wakeups] in
            wakeups.finish()
        }
    }

    /// Claims what is due and fetches it; returns how many were claimed.
    @discardableResult
    public func fetchDue() async -> Int {
        let claimed: [MediaFetch]
        do {
            claimed = try await store.claimMediaFetches(limit: Self.concurrency * 2, now: now(), lease: Self.lease)
        } catch {
            logger.warning("media: cannot claim fetches", metadata: ["error": "\(error)"])
            return 0
        }
        await withTaskGroup(of: Void.self) { group in
            var running = 0
            for fetch in claimed {
                if running == Self.concurrency {
                    await group.next()
                    running -= 1
                }
                group.addTask { await self.complete(fetch) }
                running += 1
            }
        }
        return claimed.count
    }

    func complete(_ fetch: MediaFetch) async {
        let outcome = await attempt(fetch)
        var metadata: Logger.Metadata = [
            "message_id": "\(fetch.messageId)", "attachment": "\(fetch.attachmentIndex)", "channel": "\(fetch.channel.rawValue)",
        ]
        switch outcome {
        case .stored(let mediaId, _, _): metadata["media_id"] = "\(mediaId)"
        case .failed(let reason): metadata["reason"] = "\(reason)"
        case .retry(let notBefore, let error):
            metadata["error"] = "\(error)"
            metadata["retry_at"] = "\(Timestamp.string(from: notBefore))"
        }
        do {
            if let message = try await store.completeMediaFetch(fetch, outcome: outcome, at: now()) {
                events.publish(.status(message))
            }
            switch outcome {
            case .stored: logger.info("inbound media kept", metadata: metadata)
            case .failed: logger.warning("inbound media not kept", metadata: metadata)
            case .retry: logger.info("inbound media fetch to be retried", metadata: metadata)
            }
        } catch {
            metadata["error"] = "\(error)"
            logger.warning("media: fetch outcome not recorded (another instance may have taken it)", metadata: metadata)
        }
    }

    /// One attempt: the provider's URL, then its redirects within the provider's hosts.
    func attempt(_ fetch: MediaFetch) async -> MediaFetchOutcome {
        let attempts = fetch.attempts + 1
        let age = now().timeIntervalSince(fetch.createdAt)
        func giveUpOrRetry(_ problem: String, transient: Bool) -> MediaFetchOutcome {
            switch MediaFetchRules.next(afterAttempt: attempts, transient: transient, age: age) {
            case .retry(let seconds): .retry(notBefore: now().addingTimeInterval(seconds), error: problem)
            case .giveUp: .failed(problem)
            }
        }
        guard let source = sources[fetch.channel] else { return .failed("the \(fetch.channel.rawValue) channel is not configured") }
        var url = fetch.url
        for _ in 0...MediaFetchRules.maxRedirects {
            guard let host = MediaFetchRules.host(of: url) else { return .failed("not an http(s) URL") }
            guard MediaFetchRules.host(host, isIn: source.mediaHosts) else {
                return .failed("\(host) is not a host \(fetch.channel.rawValue) media comes from")
            }
            var request = HTTPClientRequest(method: "GET", url: url, headers: source.mediaRequestHeaders(for: url), timeoutMilliseconds: 30_000)
            if !MediaFetchRules.host(host, isIn: source.configuredAPIHosts) {
                do {
                    request.pinnedAddresses = try await destinations.pins(for: url)
                } catch {
                    if error.mayPassLater { return giveUpOrRetry(error.description, transient: true) }
                    return .failed("\(host): \(error.description)")
                }
            }
            let response: HTTPClientResponse
            do {
                response = try await transport.execute(request)
            } catch {
                if error.kind == .responseTooLarge { return .failed(MediaRules.Refusal.tooLarge(limit: maxBytes).message) }
                return giveUpOrRetry("\(host): \(error.kind.rawValue)", transient: true)
            }
            switch response.status {
            case 301, 302, 303, 307, 308:
                guard let location = response.header("Location"), let next = MediaFetchRules.redirectTarget(location, from: url) else {
                    return .failed("\(host) redirected without a usable Location")
                }
                url = next
                continue
            case 200:
                return keep(response, fetch: fetch)
            default:
                return giveUpOrRetry("\(host) answered \(response.status)", transient: MediaFetchRules.isTransient(status: response.status))
            }
        }
        return .failed("more than \(MediaFetchRules.maxRedirects) redirects")
    }

    /// The answered file into the media directory, when it is a type and size the gateway keeps.
    func keep(_ response: HTTPClientResponse, fetch: MediaFetch) -> MediaFetchOutcome {
        guard !response.body.isEmpty else { return .failed(MediaRules.Refusal.empty.message) }
        guard response.body.count <= maxBytes else { return .failed(MediaRules.Refusal.tooLarge(limit: maxBytes).message) }
        guard let mediaType = MediaRules.mediaType(fromContentType: response.header("Content-Type")) else {
            return .failed("the answer has no Content-Type")
        }
        if let refusal = MediaRules.check(type: mediaType) ?? MediaRules.check(firstBytes: Array(response.body.prefix(MediaRules.sniffLength)), type: mediaType) {
            return .failed(refusal.message)
        }
        do {
            let item = try directory.keep(response.body, mimeType: mediaType, name: nil, origin: "inbound", at: now())
            return .stored(mediaId: item.id, url: signer.url(for: item.id, now: now()), mimeType: mediaType)
        } catch {
            logger.error("media directory not writable", metadata: ["error": "\(error)"])
            return .retry(notBefore: now().addingTimeInterval(60), error: "the media directory cannot be written")
        }
    }
}
