import Hummingbird
import HummingbirdCore
import HummingbirdWebSocket
import Logging
import NIOCore

/// The server's connection limits, below HTTP: at most `maxConnections` open at once (further ones
/// are closed as they arrive), and a new connection must deliver its first request's headers within
/// `headerTimeout`. Hummingbird's idle timeout starts only once a first request head has been parsed,
/// so without this a silent or slowly-typing connection was held forever.
public final class ConnectionGuard: Sendable {
    public let connections: OpenSlots
    let headerTimeout: TimeAmount

    public init(maxConnections: Int, headerTimeoutSeconds: Double) {
        self.connections = OpenSlots(limit: maxConnections)
        self.headerTimeout = .milliseconds(Int64(headerTimeoutSeconds * 1000))
    }

    /// Hummingbird's HTTP/1 + WebSocket upgrade channel, with the guard first in every connection's pipeline.
    func server(webSocketRouter: Router<GatewayRequestContext>, configuration: HTTP1WebSocketUpgradeChannel.Configuration) -> HTTPServerBuilder {
        let responder = webSocketRouter.buildResponder()
        return HTTPServerBuilder { httpResponder in
            GuardedChannel(
                base: HTTP1WebSocketUpgradeChannel(responder: httpResponder, webSocketResponder: responder, configuration: configuration),
                guard: self)
        }
    }
}

/// A child channel that puts a `ConnectionGuardHandler` in front of Hummingbird's own handlers.
struct GuardedChannel: ServerChildChannel {
    typealias Value = HTTP1WebSocketUpgradeChannel.Value
    let base: HTTP1WebSocketUpgradeChannel
    let `guard`: ConnectionGuard

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let connectionGuard = self.guard
        return channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(ConnectionGuardHandler(guard: connectionGuard), position: .first)
        }.flatMap {
            base.setup(channel: channel, logger: logger)
        }
    }

    func handle(value: Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}

/// Counts the connection while it is open, and closes it when the end of the first request's
/// headers (`CRLF CRLF`) has not arrived within the header timeout. After that it only passes bytes on.
final class ConnectionGuardHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let connectionGuard: ConnectionGuard
    private var counted = false
    private var headersSeen = false
    /// How much of `CRLF CRLF` the bytes so far end with.
    private var matched = 0
    private var timer: Scheduled<Void>?

    init(guard connectionGuard: ConnectionGuard) {
        self.connectionGuard = connectionGuard
    }

    func handlerAdded(context: ChannelHandlerContext) {
        guard connectionGuard.connections.acquire() else {
            context.close(promise: nil)
            return
        }
        counted = true
        timer = context.eventLoop.assumeIsolated().scheduleTask(in: connectionGuard.headerTimeout) {
            context.close(promise: nil)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        releaseSlot()
    }

    func channelInactive(context: ChannelHandlerContext) {
        releaseSlot()
        context.fireChannelInactive()
    }

    /// Gives the connection's slot back, once, when it closes (or the handler leaves the pipeline).
    private func releaseSlot() {
        timer?.cancel()
        timer = nil
        if counted {
            counted = false
            connectionGuard.connections.release()
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if !headersSeen {
            let buffer = unwrapInboundIn(data)
            let terminator: [UInt8] = [13, 10, 13, 10]
            for byte in buffer.readableBytesView {
                if byte == terminator[matched] {
                    matched += 1
                } else {
                    matched = byte == 13 ? 1 : 0
                }
                if matched == 4 {
                    headersSeen = true
                    timer?.cancel()
                    timer = nil
                    break
                }
            }
        }
        context.fireChannelRead(data)
    }
}
