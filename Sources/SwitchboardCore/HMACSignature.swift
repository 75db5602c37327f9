import Crypto
import Foundation

/// Helpers shared by the adapters that check HMAC signatures.
public enum HMACSignature {
    /// Compares two byte strings in time that depends only on their length. (Concrete arrays:
    /// a generic version went through generic metadata for every byte on each webhook.)
    @inlinable
    public static func constantTimeEquals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for index in a.indices { difference |= a[index] ^ b[index] }
        return difference == 0
    }

    /// Lower-case hexadecimal of bytes.
    @inlinable
    public static func hex(_ bytes: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 15)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// `hex(HMAC-SHA256(key, message))`.
    public static func sha256Hex(key: String, message: [UInt8]) -> String {
        hex(HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: Array(key.utf8))))
    }

    /// `base64(HMAC-SHA512(key, message))`.
    public static func sha512Base64(key: String, message: [UInt8]) -> String {
        Data(HMAC<SHA512>.authenticationCode(for: message, using: SymmetricKey(data: Array(key.utf8)))).base64EncodedString()
    }
}
