import Hummingbird
import Logging
import NIOCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The simulator's request context: Hummingbird's basic one plus the connection, so a fault can
/// drop it.
public struct SimulatorRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    let channel: any Channel

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.channel = source.channel
    }

    /// Resets the connection: SO_LINGER 0, then close, so the kernel sends a TCP RST instead of a
    /// FIN — the client sees "connection reset by peer" with no response.
    func resetConnection() async throws -> Never {
        if let sockets = channel as? any SocketOptionProvider {
            _ = try? await sockets.setSoLinger(linger(l_onoff: 1, l_linger: 0)).get()
        }
        try? await channel.close().get()
        throw ConnectionReset()
    }
}

/// Thrown after a simulated connection reset; nothing is written back.
struct ConnectionReset: Error {}

/// Notes each request's connection in a `ConnectionLog`.
struct ConnectionCountingMiddleware: RouterMiddleware {
    let log: ConnectionLog

    func handle(
        _ request: Request, context: SimulatorRequestContext, next: (Request, SimulatorRequestContext) async throws -> Response
    ) async throws -> Response {
        if let address = context.channel.remoteAddress {
            await log.note("\(address)")
        }
        return try await next(request, context)
    }
}
