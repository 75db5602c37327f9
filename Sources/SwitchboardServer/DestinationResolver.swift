import Dispatch
import Foundation
import SwitchboardCore
#if canImport(Glibc)
import Glibc
#endif

/// Resolves the host of a URL that came from data (the external bot's, and later media and event
/// webhooks), refuses it when any of its addresses is loopback, private, link-local or otherwise
/// special (unless allowed), and returns libcurl `CURLOPT_RESOLVE` pins so the call connects to
/// exactly the addresses checked. Redirects are never followed by the client.
public struct DestinationResolver: Sendable {
    public let policy: DestinationPolicy

    public init(policy: DestinationPolicy) {
        self.policy = policy
    }

    /// Why a destination was refused.
    public struct Refusal: Error, Sendable, CustomStringConvertible {
        public var description: String
        /// The name did not resolve now; it may later (a policy refusal will not pass later).
        public var mayPassLater = false
    }

    /// `HOST:PORT:ADDRESS,…` pins for `url` (none for an IP literal, which is checked as it is).
    public func pins(for url: String) async throws(Refusal) -> [String] {
        guard let target = Self.hostAndPort(url) else { throw Refusal(description: "not an http(s) URL with a host") }
        if let literal = IPAddress.parse(target.host) {
            if let reason = policy.refusal(for: literal) { throw Refusal(description: reason) }
            return []
        }
        let addresses = await Self.resolve(target.host)
        guard !addresses.isEmpty else { throw Refusal(description: "\(target.host) does not resolve", mayPassLater: true) }
        // Every address must pass: libcurl may try any of them.
        for address in addresses {
            if let reason = policy.refusal(for: address) { throw Refusal(description: "\(target.host): \(reason)") }
        }
        let list = addresses.map { $0.count == 16 ? "[\(IPAddress.format($0))]" : IPAddress.format($0) }.joined(separator: ",")
        return ["\(target.host):\(target.port):\(list)"]
    }

    /// The host (brackets removed) and port of an http(s) URL.
    static func hostAndPort(_ url: String) -> (host: String, port: Int)? {
        let lowered = url.lowercased()
        let defaultPort: Int
        let rest: Substring
        if lowered.hasPrefix("https://") {
            (defaultPort, rest) = (443, url.dropFirst(8))
        } else if lowered.hasPrefix("http://") {
            (defaultPort, rest) = (80, url.dropFirst(7))
        } else {
            return nil
        }
        var authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        if let at = authority.lastIndex(of: "@") { authority = authority[authority.index(after: at)...] }
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return nil }
            let host = String(authority[authority.index(after: authority.startIndex)..<close])
            let after = authority[authority.index(after: close)...]
            if after.isEmpty { return (host, defaultPort) }
            guard after.hasPrefix(":"), let port = Int(after.dropFirst()), (1...65535).contains(port) else { return nil }
            return (host, port)
        }
        let parts = authority.split(separator: ":", omittingEmptySubsequences: false)
        guard let host = parts.first, !host.isEmpty, parts.count <= 2 else { return nil }
        if parts.count == 2 {
            guard let port = Int(parts[1]), (1...65535).contains(port) else { return nil }
            return (String(host), port)
        }
        return (String(host), defaultPort)
    }

    /// getaddrinfo on a dispatch thread (it blocks), every address of either family.
    static func resolve(_ host: String) async -> [[UInt8]] {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                var hints = addrinfo()
                hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
                var result: UnsafeMutablePointer<addrinfo>?
                guard getaddrinfo(host, nil, &hints, &result) == 0 else {
                    continuation.resume(returning: [])
                    return
                }
                defer { freeaddrinfo(result) }
                var addresses: [[UInt8]] = []
                var cursor = result
                while let info = cursor {
                    if let address = info.pointee.ai_addr {
                        if info.pointee.ai_family == AF_INET {
                            address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { pointer in
                                addresses.append(withUnsafeBytes(of: pointer.pointee.sin_addr) { Array($0) })
                            }
                        } else if info.pointee.ai_family == AF_INET6 {
                            address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { pointer in
                                addresses.append(withUnsafeBytes(of: pointer.pointee.sin6_addr) { Array($0) })
                            }
                        }
                    }
                    cursor = info.pointee.ai_next
                }
                var unique: [[UInt8]] = []
                for address in addresses where !unique.contains(address) { unique.append(address) }
                continuation.resume(returning: unique)
            }
        }
    }
}
