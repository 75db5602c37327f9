import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A WebSocket opened over a plain TCP socket, for the refusals where the gateway speaks first and
/// closes: it sends one upgrade request (and, optionally, frames), then reads every byte until the
/// gateway closes the connection or `timeout` passes, and parses what came: the status line and
/// the frames, however TCP cut them.
///
/// The NIO client (`HummingbirdWSClient`) loses frames that arrive in the same read as the 101
/// response (seen under load: the gateway logged its refusal and the client saw neither the error
/// frame nor the close; a loop over its frames then waited for ever). Browsers do not; this reader
/// does not either.
struct RawWebSocketExchange: Sendable {
    struct Frame: Sendable, Equatable {
        var opcode: UInt8
        var payload: [UInt8]
        var text: String { String(decoding: payload, as: UTF8.self) }
        /// A close frame's status code.
        var closeCode: UInt16? {
            opcode == 0x8 && payload.count >= 2 ? UInt16(payload[0]) << 8 | UInt16(payload[1]) : nil
        }
    }

    var statusLine: String
    var frames: [Frame]
    /// The gateway closed the TCP connection (rather than the timeout ending the read).
    var closedByServer: Bool

    var texts: [String] { frames.filter { $0.opcode == 0x1 }.map(\.text) }
    var closeCode: UInt16? { frames.lazy.compactMap(\.closeCode).first }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// Connects to 127.0.0.1:`port`, upgrades `path`, sends `frames` (text, masked as a client
    /// must), answers the gateway's close, and reads until the connection ends.
    static func exchange(port: Int, path: String, frames: [String] = [], timeout: Double = 10) async throws -> RawWebSocketExchange {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<RawWebSocketExchange, any Error>) in
            // Blocking reads, on a thread of their own (never the cooperative pool's).
            Thread {
                continuation.resume(with: Result { try run(port: port, path: path, frames: frames, timeout: timeout) })
            }.start()
        }
    }

    private static func run(port: Int, path: String, frames: [String], timeout: Double) throws -> RawWebSocketExchange {
        let connection = try RawConnection(port: port)
        defer { connection.hangUp() }
        let fd = connection.fd
        // Each read waits at most 200 ms, so the deadline is checked often.
        var wait = timeval(tv_sec: 0, tv_usec: 200_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wait, socklen_t(MemoryLayout<timeval>.size))

        let request = "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        try send(fd, Array(request.utf8))
        for frame in frames { try send(fd, masked(opcode: 0x1, payload: Array(frame.utf8))) }

        var received: [UInt8] = []
        var answeredClose = false
        var closedByServer = false
        let deadline = Date().addingTimeInterval(timeout)
        var chunk = [UInt8](repeating: 0, count: 16_384)
        while Date() < deadline {
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count == 0 {
                closedByServer = true
                break
            }
            if count < 0 {
                guard errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR else {
                    closedByServer = true // reset
                    break
                }
                continue
            }
            received += chunk[0..<count]
            // Answer the gateway's close as a client must, once; it then closes the connection.
            if !answeredClose, let parsed = try? parse(received), let code = parsed.closeCode {
                answeredClose = true
                try? send(fd, masked(opcode: 0x8, payload: [UInt8(code >> 8), UInt8(code & 0xff)]))
            }
        }
        var exchange = try parse(received)
        exchange.closedByServer = closedByServer
        return exchange
    }

    private static func send(_ fd: Int32, _ bytes: [UInt8]) throws {
        var sent = 0
        while sent < bytes.count {
            let count = bytes[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard count > 0 else { throw Failure(description: "send() failed") }
            sent += count
        }
    }

    /// A client frame: FIN, `opcode`, masked with a fixed key (the test needs no secrecy).
    static func masked(opcode: UInt8, payload: [UInt8]) -> [UInt8] {
        let key: [UInt8] = [0x12, 0x34, 0x56, 0x78]
        var frame: [UInt8] = [0x80 | opcode]
        if payload.count < 126 {
            frame.append(0x80 | UInt8(payload.count))
        } else if payload.count <= 0xffff {
            frame += [0x80 | 126, UInt8(payload.count >> 8), UInt8(payload.count & 0xff)]
        } else {
            frame.append(0x80 | 127)
            frame += (0..<8).reversed().map { UInt8((UInt64(payload.count) >> (UInt64($0) * 8)) & 0xff) }
        }
        frame += key
        frame += payload.enumerated().map { $0.element ^ key[$0.offset % 4] }
        return frame
    }

    /// The status line and the complete server frames in `bytes` (a frame cut short is left out).
    static func parse(_ bytes: [UInt8]) throws -> RawWebSocketExchange {
        let end: [UInt8] = [13, 10, 13, 10]
        guard let headEnd = (0...max(0, bytes.count - 4)).first(where: { bytes.count >= $0 + 4 && Array(bytes[$0..<$0 + 4]) == end }) else {
            throw Failure(description: "no complete HTTP response head in \(bytes.count) bytes")
        }
        let head = String(decoding: bytes[0..<headEnd], as: UTF8.self)
        var frames: [Frame] = []
        var index = headEnd + 4
        while index + 2 <= bytes.count {
            let opcode = bytes[index] & 0x0f
            let isMasked = bytes[index + 1] & 0x80 != 0
            var length = Int(bytes[index + 1] & 0x7f)
            var cursor = index + 2
            if length == 126 {
                guard cursor + 2 <= bytes.count else { break }
                length = Int(bytes[cursor]) << 8 | Int(bytes[cursor + 1])
                cursor += 2
            } else if length == 127 {
                guard cursor + 8 <= bytes.count else { break }
                length = bytes[cursor..<cursor + 8].reduce(0) { $0 << 8 | Int($1) }
                cursor += 8
            }
            let key = isMasked ? Array(bytes[min(cursor, bytes.count)..<min(cursor + 4, bytes.count)]) : []
            if isMasked { cursor += 4 }
            guard length >= 0, cursor + length <= bytes.count else { break }
            var payload = Array(bytes[cursor..<cursor + length])
            if isMasked, key.count == 4 { payload = payload.enumerated().map { $0.element ^ key[$0.offset % 4] } }
            frames.append(Frame(opcode: opcode, payload: payload))
            index = cursor + length
        }
        return RawWebSocketExchange(
            statusLine: head.split(separator: "\r\n", maxSplits: 1).first.map(String.init) ?? "", frames: frames, closedByServer: false)
    }
}
