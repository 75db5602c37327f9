import CCurl
import Foundation
import Logging

/// An async HTTP client on libcurl's multi interface.
///
/// One dedicated thread owns the multi handle and every easy handle: it waits in `curl_multi_poll`,
/// picks up new requests from a locked queue (woken by `curl_multi_wakeup`), and resumes each
/// request's continuation when libcurl reports it done. Connections are reused through the multi
/// handle's connection cache, HTTP/2 is used where the server offers it over TLS (multiplexed), TLS
/// peers are verified, and only `http` and `https` are allowed, without redirects.
public final class CurlHTTPClient: Sendable {
    public struct Configuration: Sendable {
        /// Connections kept open to one host at most (requests beyond wait for one).
        public var maxConnectionsPerHost: Int
        /// Idle connections kept in the cache at most.
        public var maxCachedConnections: Int
        /// A response body over this many bytes fails with `.responseTooLarge`.
        public var maxResponseBytes: Int
        /// Connecting must finish within this many milliseconds.
        public var connectTimeoutMilliseconds: Int

        public init(
            maxConnectionsPerHost: Int = 64, maxCachedConnections: Int = 256, maxResponseBytes: Int = 4 << 20,
            connectTimeoutMilliseconds: Int = 5_000
        ) {
            self.maxConnectionsPerHost = maxConnectionsPerHost
            self.maxCachedConnections = maxCachedConnections
            self.maxResponseBytes = maxResponseBytes
            self.connectTimeoutMilliseconds = connectTimeoutMilliseconds
        }
    }

    private let loop: CurlLoop

    /// Starts the client's thread. Call `shutdown()` when done.
    public init(configuration: Configuration = .init(), logger: Logger = Logger(label: "switchboard.curl")) {
        CurlGlobal.initializeOnce()
        self.loop = CurlLoop(configuration: configuration, logger: logger)
        loop.start()
    }

    /// Sends `request` and returns the response, whatever its status; throws only when no response came.
    public func execute(_ request: HTTPClientRequest) async throws(HTTPClientError) -> HTTPClientResponse {
        let transfer = CurlTransfer(request: request, maxResponseBytes: loop.configuration.maxResponseBytes)
        let result: Result<HTTPClientResponse, HTTPClientError> = await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                transfer.continuation = continuation
                loop.submit(transfer)
            }
        } onCancel: {
            loop.cancel(transfer)
        }
        return try result.get()
    }

    /// Fails requests still in flight with `.shutdown` and stops the thread.
    public func shutdown() {
        loop.stop()
    }

    /// Connections opened since the client started (a measure of connection reuse).
    public var connectionsOpened: Int { loop.connectionsOpened }

    deinit {
        loop.stop()
    }
}

/// libcurl asks for one `curl_global_init` before any thread uses it.
enum CurlGlobal {
    static let initialized: Bool = {
        curl_global_init(Int(CURL_GLOBAL_ALL)) == CURLE_OK
    }()

    static func initializeOnce() {
        _ = initialized
    }
}
