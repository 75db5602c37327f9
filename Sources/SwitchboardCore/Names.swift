/// Custom attribute names: a letter or `_`, then letters, digits, `_`, `-` or `.`; 1 to 64 characters.
/// Values are at most `maxValueLength` characters.
public enum AttributeName {
    public static let rule = "a letter or _, then letters, digits, _, - or .; at most 64 characters"
    public static let maxValueLength = 1024

    public static func isValid(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, name.unicodeScalars.count <= 64 else { return false }
        guard first.properties.isAlphabetic && first.isASCII || first == "_" else { return false }
        return name.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "_-.".unicodeScalars.contains($0)) }
    }
}

/// Tag names: 1 to 40 characters of letters, digits, space, `_`, `-` or `.`, starting with a letter or digit.
public enum TagName {
    public static let rule = "1 to 40 letters, digits, spaces, _, - or ., starting with a letter or digit"

    public static func isValid(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, name.count <= 40 else { return false }
        guard first.properties.isAlphabetic || ("0"..."9").contains(first) else { return false }
        return name.unicodeScalars.allSatisfy { $0.properties.isAlphabetic || ("0"..."9").contains($0) || " _-.".unicodeScalars.contains($0) }
    }
}
