import Foundation

/// A CIDR block of IPv4 or IPv6 addresses (`10.0.0.0/8`, `fd00::/8`).
public struct AddressRange: Sendable, Equatable, CustomStringConvertible {
    /// 4 bytes for IPv4, 16 for IPv6, in network order.
    public let base: [UInt8]
    public let prefixLength: Int

    /// Parses `ADDRESS/BITS` (or a bare address, meaning one host); nil when it is not one.
    public init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 1 || parts.count == 2, let address = IPAddress.parse(String(parts[0])) else { return nil }
        let bits = address.count * 8
        var length = bits
        if parts.count == 2 {
            guard let value = Int(parts[1]), (0...bits).contains(value) else { return nil }
            length = value
        }
        self.init(base: address, prefixLength: length)
    }

    init(base: [UInt8], prefixLength: Int) {
        self.base = base
        self.prefixLength = prefixLength
    }

    /// Whether `address` (of the same family) lies in the block.
    public func contains(_ address: [UInt8]) -> Bool {
        guard address.count == base.count else { return false }
        var remaining = prefixLength
        for index in 0..<base.count where remaining > 0 {
            let bits = min(8, remaining)
            let mask = UInt8(truncatingIfNeeded: 0xFF << (8 - bits))
            if address[index] & mask != base[index] & mask { return false }
            remaining -= bits
        }
        return true
    }

    public var description: String {
        "\(IPAddress.format(base))/\(prefixLength)"
    }
}

/// Which addresses the gateway may call when the URL came from data (an external bot's URL, media to
/// fetch, an event webhook): public ones only, unless the operator allows a range
/// (`SWITCHBOARD_ALLOW_PRIVATE_URLS`). Otherwise a URL could make the gateway reach its own
/// loopback services, the cloud's metadata endpoint (169.254.169.254) or the private network (SSRF).
public struct DestinationPolicy: Sendable, Equatable {
    /// Ranges allowed although special (loopback, private, link-local, …).
    public var allowed: [AddressRange]

    public init(allowed: [AddressRange] = []) {
        self.allowed = allowed
    }

    /// Special-purpose IPv4 blocks (IANA's registry, RFC 6890): none of them is a public host.
    static let specialIPv4: [AddressRange] = [
        "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
        "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16", "198.18.0.0/15",
        "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4",
    ].compactMap(AddressRange.init)

    /// Special-purpose IPv6 blocks; IPv4-mapped, NAT64 and 6to4 addresses are judged by the IPv4
    /// address they carry.
    static let specialIPv6: [AddressRange] = [
        "::/128", "::1/128", "100::/64", "2001::/23", "2001:db8::/32", "fc00::/7", "fe80::/10", "fec0::/10", "ff00::/8",
    ].compactMap(AddressRange.init)

    /// Why `address` may not be called, or nil when it may.
    public func refusal(for address: [UInt8]) -> String? {
        if allowed.contains(where: { $0.contains(address) }) { return nil }
        if address.count == 16, let embedded = Self.embeddedIPv4(address) {
            if allowed.contains(where: { $0.contains(embedded) }) { return nil }
            if let range = Self.specialIPv4.first(where: { $0.contains(embedded) }) {
                return "\(IPAddress.format(address)) carries \(IPAddress.format(embedded)), in the special range \(range)"
            }
            return nil
        }
        let special = address.count == 4 ? Self.specialIPv4 : Self.specialIPv6
        if let range = special.first(where: { $0.contains(address) }) {
            return "\(IPAddress.format(address)) is in the special range \(range) (allow it with SWITCHBOARD_ALLOW_PRIVATE_URLS)"
        }
        return nil
    }

    /// The IPv4 address inside an IPv4-mapped (`::ffff:a.b.c.d`), IPv4-compatible (`::a.b.c.d`),
    /// NAT64 (`64:ff9b::a.b.c.d`) or 6to4 (`2002:AABB:CCDD::`) address.
    static func embeddedIPv4(_ address: [UInt8]) -> [UInt8]? {
        let zeros10 = address[0..<10].allSatisfy { $0 == 0 }
        if zeros10, address[10] == 0xFF, address[11] == 0xFF { return Array(address[12..<16]) }
        if zeros10, address[10] == 0, address[11] == 0, address[12..<16].contains(where: { $0 != 0 }),
           !(address[12..<15].allSatisfy { $0 == 0 } && address[15] == 1) {
            return Array(address[12..<16])
        }
        if address[0..<12] == [0x00, 0x64, 0xFF, 0x9B, 0, 0, 0, 0, 0, 0, 0, 0] { return Array(address[12..<16]) }
        if address[0] == 0x20, address[1] == 0x02 { return Array(address[2..<6]) }
        return nil
    }
}

/// Parsing and printing IP addresses without the C library (pure, so the rules are unit-tested).
public enum IPAddress {
    /// 4 bytes for dotted IPv4, 16 for IPv6 (with `::`, an embedded IPv4 tail, and an optional
    /// `[…]` around it); nil for anything else, including IPv4 written in octal or hex.
    public static func parse(_ text: String) -> [UInt8]? {
        var text = Substring(text)
        if text.hasPrefix("["), text.hasSuffix("]") { text = text.dropFirst().dropLast() }
        if !text.contains(":") { return parseIPv4(text) }
        return parseIPv6(text)
    }

    static func parseIPv4(_ text: Substring) -> [UInt8]? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var bytes: [UInt8] = []
        for part in parts {
            guard !part.isEmpty, part.count <= 3, part.allSatisfy(\.isASCII), part.allSatisfy(\.isNumber),
                  part.count == 1 || part.first != "0", let value = UInt8(part)
            else { return nil }
            bytes.append(value)
        }
        return bytes
    }

    static func parseIPv6(_ text: Substring) -> [UInt8]? {
        guard !text.contains("%") else { return nil }
        let halves = text.components(separatedBy: "::")
        guard halves.count <= 2 else { return nil }
        func groups(_ part: String) -> [UInt8]? {
            if part.isEmpty { return [] }
            var bytes: [UInt8] = []
            let pieces = part.split(separator: ":", omittingEmptySubsequences: false)
            for (index, piece) in pieces.enumerated() {
                if index == pieces.count - 1, piece.contains(".") {
                    guard let v4 = parseIPv4(piece) else { return nil }
                    bytes += v4
                    continue
                }
                guard (1...4).contains(piece.count), let value = UInt16(piece, radix: 16) else { return nil }
                bytes += [UInt8(value >> 8), UInt8(value & 0xFF)]
            }
            return bytes
        }
        guard let head = groups(halves[0]) else { return nil }
        if halves.count == 1 { return head.count == 16 ? head : nil }
        guard let tail = groups(halves[1]), head.count + tail.count <= 14 else { return nil }
        return head + [UInt8](repeating: 0, count: 16 - head.count - tail.count) + tail
    }

    /// Dotted IPv4, or IPv6 as eight hexadecimal groups.
    public static func format(_ bytes: [UInt8]) -> String {
        if bytes.count == 4 { return bytes.map(String.init).joined(separator: ".") }
        guard bytes.count == 16 else { return "?" }
        return stride(from: 0, to: 16, by: 2).map { String(UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]), radix: 16) }.joined(separator: ":")
    }
}
