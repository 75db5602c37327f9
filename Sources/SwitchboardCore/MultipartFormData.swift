import Foundation

/// The file part of a `multipart/form-data` body (RFC 7578), for uploads from an HTML form or
/// `curl -F file=@photo.png`. Pure: the body is already bounded by the caller.
public enum MultipartFormData {
    /// A file part: its bytes, the `Content-Type` it was sent with, and its file name.
    public struct File: Equatable, Sendable {
        public var bytes: ArraySlice<UInt8>
        public var contentType: String?
        public var filename: String?
    }

    public enum Problem: Error, Equatable, Sendable {
        case noBoundary, malformed, noFile

        public var message: String {
            switch self {
            case .noBoundary: "a multipart body needs a boundary in its Content-Type"
            case .malformed: "the multipart body does not parse (RFC 7578)"
            case .noFile: "the multipart body has no file part (a part with a filename)"
            }
        }
    }

    /// The `boundary` parameter of a `multipart/form-data` Content-Type (RFC 2046: 1 to 70 characters).
    public static func boundary(fromContentType value: String) -> String? {
        for parameter in value.split(separator: ";").dropFirst() {
            let pair = parameter.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard pair.count == 2, pair[0].lowercased() == "boundary" else { continue }
            let boundary = pair[1].hasPrefix("\"") && pair[1].hasSuffix("\"") && pair[1].count >= 2 ? String(pair[1].dropFirst().dropLast()) : pair[1]
            return (1...70).contains(boundary.utf8.count) ? boundary : nil
        }
        return nil
    }

    /// The first part with a `filename` (the file), or the first part named `file`.
    public static func firstFile(in body: [UInt8], boundary: String) throws(Problem) -> File {
        let delimiter = Array("--\(boundary)".utf8)
        guard let first = find(delimiter, in: body, from: 0) else { throw .malformed }
        var position = first + delimiter.count
        var fallback: File?
        while true {
            // After a delimiter: "--" ends the body, CRLF starts a part.
            if body.count >= position + 2, body[position] == UInt8(ascii: "-"), body[position + 1] == UInt8(ascii: "-") { break }
            guard body.count >= position + 2, body[position] == 13, body[position + 1] == 10 else { throw .malformed }
            position += 2
            guard let headersEnd = find([13, 10, 13, 10], in: body, from: position) else { throw .malformed }
            let headers = String(decoding: body[position..<headersEnd], as: UTF8.self)
            let contentStart = headersEnd + 4
            guard let next = find([13, 10] + delimiter, in: body, from: contentStart) else { throw .malformed }
            var disposition: String?
            var contentType: String?
            for line in headers.split(separator: "\r\n") {
                let pair = line.split(separator: ":", maxSplits: 1)
                guard pair.count == 2 else { continue }
                switch pair[0].trimmingCharacters(in: .whitespaces).lowercased() {
                case "content-disposition": disposition = pair[1].trimmingCharacters(in: .whitespaces)
                case "content-type": contentType = pair[1].trimmingCharacters(in: .whitespaces)
                default: break
                }
            }
            let file = File(bytes: body[contentStart..<next], contentType: contentType, filename: disposition.flatMap { parameter("filename", in: $0) })
            if file.filename != nil { return file }
            if fallback == nil, disposition.flatMap({ parameter("name", in: $0) }) == "file" { fallback = file }
            position = next + 2 + delimiter.count
        }
        if let fallback { return fallback }
        throw .noFile
    }

    static func parameter(_ name: String, in disposition: String) -> String? {
        for part in disposition.split(separator: ";").dropFirst() {
            let pair = part.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard pair.count == 2, pair[0].lowercased() == name else { continue }
            let value = pair[1]
            return value.hasPrefix("\"") && value.hasSuffix("\"") && value.count >= 2 ? String(value.dropFirst().dropLast()) : value
        }
        return nil
    }

    static func find(_ needle: [UInt8], in haystack: [UInt8], from start: Int) -> Int? {
        guard !needle.isEmpty, haystack.count >= needle.count, start <= haystack.count - needle.count else { return nil }
        let first = needle[0]
        var index = start
        while index <= haystack.count - needle.count {
            if haystack[index] == first, haystack[index..<index + needle.count].elementsEqual(needle) { return index }
            index += 1
        }
        return nil
    }
}
