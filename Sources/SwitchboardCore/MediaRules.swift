import Foundation

/// What the gateway keeps as media (uploads for outbound messages, copies of inbound media): the
/// types it accepts, each checked against the file's first bytes where the format has a signature,
/// so a page of HTML cannot be kept (and later served) as a picture. Pure.
public enum MediaRules {
    /// Types accepted, with the file extension the media directory gives them. Images, video,
    /// audio and documents the providers carry (Twilio MMS, Messenger, RBM).
    public static let extensions: [String: String] = [
        "image/jpeg": "jpg", "image/png": "png", "image/gif": "gif", "image/webp": "webp",
        "video/mp4": "mp4", "video/3gpp": "3gp", "video/quicktime": "mov",
        "audio/mpeg": "mp3", "audio/mp4": "m4a", "audio/aac": "aac", "audio/ogg": "ogg", "audio/amr": "amr",
        "application/pdf": "pdf", "text/vcard": "vcf", "text/plain": "txt",
    ]

    /// The largest file kept by default: 16 MiB (Messenger takes 25 MB, RBM 100 MB; Twilio's MMS
    /// takes 5 MB in all, which its adapter's own limits cover).
    public static let defaultMaxBytes = 16 << 20

    /// The bytes needed to check a file's signature.
    public static let sniffLength = 12

    /// A `Content-Type` value's media type, lower-cased, without parameters; nil when it is not `type/subtype`.
    public static func mediaType(fromContentType value: String?) -> String? {
        guard let value else { return nil }
        let type = value.split(separator: ";", maxSplits: 1).first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        let parts = type.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty,
              type.allSatisfy({ $0.isLetter || $0.isNumber || "/.+-".contains($0) })
        else { return nil }
        return type
    }

    /// Why a file cannot be kept.
    public enum Refusal: Error, Equatable, Sendable {
        /// The type is not one the gateway keeps (415).
        case typeNotAllowed(String)
        /// The first bytes are not the declared type's (415).
        case notThatType(String)
        /// Larger than the limit (413).
        case tooLarge(limit: Int)
        /// Nothing to keep (400).
        case empty

        public var message: String {
            switch self {
            case .typeNotAllowed(let type):
                "\(type) is not a media type the gateway keeps (\(MediaRules.extensions.keys.sorted().joined(separator: ", ")))"
            case .notThatType(let type): "the file's contents are not \(type)"
            case .tooLarge(let limit): "media is limited to \(limit) bytes"
            case .empty: "the file is empty"
            }
        }
    }

    /// The type a file's first bytes say it is, for a part sent without a useful Content-Type
    /// (none, or `application/octet-stream`); nil when no kept type's signature matches.
    public static func sniffedType(firstBytes bytes: [UInt8]) -> String? {
        ["image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf", "video/mp4", "audio/ogg", "audio/amr"]
            .first { check(firstBytes: bytes, type: $0) == nil }
    }

    /// Whether `mediaType` may be kept at all.
    public static func check(type mediaType: String) -> Refusal? {
        extensions[mediaType] == nil ? .typeNotAllowed(mediaType) : nil
    }

    /// Whether the file's first bytes fit its declared type (formats without a signature pass).
    public static func check(firstBytes bytes: [UInt8], type mediaType: String) -> Refusal? {
        func starts(_ prefix: [UInt8], at offset: Int = 0) -> Bool {
            bytes.count >= offset + prefix.count && Array(bytes[offset..<offset + prefix.count]) == prefix
        }
        let ascii = { (text: String) in Array(text.utf8) }
        let fits: Bool
        switch mediaType {
        case "image/jpeg": fits = starts([0xFF, 0xD8, 0xFF])
        case "image/png": fits = starts([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        case "image/gif": fits = starts(ascii("GIF87a")) || starts(ascii("GIF89a"))
        case "image/webp": fits = starts(ascii("RIFF")) && starts(ascii("WEBP"), at: 8)
        case "application/pdf": fits = starts(ascii("%PDF-"))
        case "video/mp4", "video/3gpp", "video/quicktime", "audio/mp4": fits = starts(ascii("ftyp"), at: 4)
        case "audio/ogg": fits = starts(ascii("OggS"))
        case "audio/amr": fits = starts(ascii("#!AMR"))
        case "audio/mpeg": fits = starts(ascii("ID3")) || (bytes.count >= 2 && bytes[0] == 0xFF && bytes[1] & 0xE0 == 0xE0)
        default: fits = true
        }
        return fits ? nil : .notThatType(mediaType)
    }
}
