import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A plain TCP connection to the gateway, for what an HTTP client cannot do: stay silent, type
/// slowly, or hold a connection open without a request.
final class RawConnection: @unchecked Sendable {
    let fd: Int32

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.EIO) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            close(fd)
            throw POSIXError(.ECONNREFUSED)
        }
    }

    private var closed = false

    deinit { hangUp() }

    /// Closes our side.
    func hangUp() {
        guard !closed else { return }
        closed = true
        close(fd)
    }

    func send(_ text: String) {
        _ = text.utf8CString.withUnsafeBufferPointer { write(fd, $0.baseAddress, $0.count - 1) }
    }

    /// Seconds until the server closes the connection (reads return 0 or fail), at most `limit`;
    /// nil if it is still open then. Whatever the server writes first is read and ignored. The
    /// blocking reads run on a thread of their own: the gateway under test shares the cooperative
    /// pool with the tests, and blocking its few threads would starve it.
    func secondsUntilClosed(limit: Double) async -> Double? {
        await withCheckedContinuation { continuation in
            Thread { continuation.resume(returning: self.blockingSecondsUntilClosed(limit: limit)) }.start()
        }
    }

    private func blockingSecondsUntilClosed(limit: Double) -> Double? {
        let start = Date()
        var timeout = timeval(tv_sec: 0, tv_usec: 100_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var buffer = [UInt8](repeating: 0, count: 4096)
        while Date().timeIntervalSince(start) < limit {
            let count = read(fd, &buffer, buffer.count)
            if count == 0 || (count < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
                return Date().timeIntervalSince(start)
            }
        }
        return nil
    }
}

extension TestEnvironment {
    /// The loopback port the gateway listens on.
    var gatewayPort: Int {
        get throws {
            guard let port = URLComponents(string: gatewayURL)?.port else {
                throw POSIXError(.EINVAL)
            }
            return port
        }
    }
}
