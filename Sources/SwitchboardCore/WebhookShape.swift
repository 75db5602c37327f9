/// Cheap checks of a webhook body's shape, made before its signature is verified or its content
/// parsed: a stranger's request costs one pass over at most `maxBodyBytes`, whatever it holds.
public enum WebhookShape {
    /// Why a body was refused before anything else was done with it.
    public enum Refusal: Error, Sendable, Equatable {
        /// More `name=value` pairs than the limit (a 1 MiB form of 110,000 pairs took a second to
        /// parse and sign twice).
        case tooManyParameters(limit: Int)
        /// JSON nested deeper than the limit (Foundation's parser recurses per level).
        case tooDeep(limit: Int)
    }

    /// Checks a body by its media type: forms by their parameter count, JSON by its nesting.
    public static func check(_ body: [UInt8], mediaType: String?, maxFormParameters: Int, maxJSONDepth: Int) throws(Refusal) {
        switch mediaType {
        case "application/x-www-form-urlencoded":
            if formParameterCount(body) > maxFormParameters { throw .tooManyParameters(limit: maxFormParameters) }
        case "application/json":
            if jsonDepthExceeds(body, limit: maxJSONDepth) { throw .tooDeep(limit: maxJSONDepth) }
        default:
            break
        }
    }

    /// The number of `&`-separated parts of a form body (empty parts are not counted).
    public static func formParameterCount(_ body: [UInt8]) -> Int {
        var count = 0
        var inPart = false
        for byte in body {
            if byte == UInt8(ascii: "&") {
                inPart = false
            } else if !inPart {
                inPart = true
                count += 1
            }
        }
        return count
    }

    /// Whether arrays and objects nest deeper than `limit`, brackets inside strings not counted.
    public static func jsonDepthExceeds(_ body: [UInt8], limit: Int) -> Bool {
        var depth = 0
        var inString = false
        var escaped = false
        for byte in body {
            if inString {
                if escaped {
                    escaped = false
                } else if byte == UInt8(ascii: "\\") {
                    escaped = true
                } else if byte == UInt8(ascii: "\"") {
                    inString = false
                }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""):
                inString = true
            case UInt8(ascii: "["), UInt8(ascii: "{"):
                depth += 1
                if depth > limit { return true }
            case UInt8(ascii: "]"), UInt8(ascii: "}"):
                depth -= 1
            default:
                break
            }
        }
        return false
    }
}
