import Foundation

/// Any JSON value, for answering with provider bodies exactly as written.
public enum JSONValue: Codable, Sendable, Equatable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .number(let value):
            if value.rounded() == value, abs(value) < 1e15 { try container.encode(Int64(value)) } else { try container.encode(value) }
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }
}

extension JSONValue {
    /// The value at `key` of an object.
    public subscript(key: String) -> JSONValue? {
        if case .object(let object) = self { return object[key] }
        return nil
    }

    public var string: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    public var array: [JSONValue]? {
        if case .array(let value) = self { return value }
        return nil
    }

    /// Parses JSON text (nil when it is not JSON).
    public static func parse(_ text: String?) -> JSONValue? {
        guard let text else { return nil }
        return try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
    }

    /// Compact JSON with sorted keys, for messages and diffs.
    public var compact: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? String(decoding: encoder.encode(self), as: UTF8.self)) ?? "?"
    }

    /// Where `actual` does not contain this value: every key of an expected object must be in the
    /// actual object with a matching value; arrays match element by element (same length); other
    /// values must be equal. Each difference is a `(path, expected, actual)` triple.
    public func differences(from actual: JSONValue?, path: String = "") -> [(path: String, expected: String, actual: String)] {
        switch (self, actual) {
        case (.object(let expected), .object(let actual)?):
            return expected.keys.sorted().flatMap { key in
                expected[key]!.differences(from: actual[key], path: path.isEmpty ? key : "\(path).\(key)")
            }
        case (.array(let expected), .array(let actual)?) where expected.count == actual.count:
            return zip(expected, actual).enumerated().flatMap { index, pair in pair.0.differences(from: pair.1, path: "\(path)[\(index)]") }
        default:
            return self == actual ? [] : [(path.isEmpty ? "(body)" : path, compact, actual?.compact ?? "(absent)")]
        }
    }
}

extension JSONValue {
    /// JSON text written by hand: the simulator answers every provider call with a body, and
    /// JSONEncoder's generic path cost more than the rest of the answer.
    public func write(into text: inout String, sortedKeys: Bool = false) {
        switch self {
        case .null: text += "null"
        case .bool(let value): text += value ? "true" : "false"
        case .number(let value):
            if value.rounded() == value, abs(value) < 1e15 { text += String(Int64(value)) } else { text += "\(value)" }
        case .string(let value): Self.writeString(value, into: &text)
        case .array(let values):
            text += "["
            for (index, value) in values.enumerated() {
                if index > 0 { text += "," }
                value.write(into: &text, sortedKeys: sortedKeys)
            }
            text += "]"
        case .object(let object):
            text += "{"
            var first = true
            for key in sortedKeys ? object.keys.sorted() : Array(object.keys) {
                if !first { text += "," }
                first = false
                Self.writeString(key, into: &text)
                text += ":"
                object[key]!.write(into: &text, sortedKeys: sortedKeys)
            }
            text += "}"
        }
    }

    static func writeString(_ value: String, into text: inout String) {
        text += "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": text += "\\\""
            case "\\": text += "\\\\"
            case "\n": text += "\\n"
            case "\r": text += "\\r"
            case "\t": text += "\\t"
            case let control where control.value < 0x20:
                let hex = String(control.value, radix: 16)
                text += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: text.unicodeScalars.append(scalar)
            }
        }
        text += "\""
    }
}
