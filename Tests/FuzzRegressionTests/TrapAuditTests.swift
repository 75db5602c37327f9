import Foundation
import Testing

/// The gateway's request paths hold no operation that traps on a value: `try!`, `fatalError`,
/// `precondition`, `as!` and force unwraps (`!` after a name, `)` or `]`). A request that reaches one
/// takes the whole process down with every connection. Each exception names its file and why no
/// request reaches it.
@Suite("Trap audit")
struct TrapAuditTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// The targets that handle requests (Sources/CurlHTTPClient's startup checks are outside them).
    static let audited = [
        "Sources/SwitchboardCore", "Sources/SwitchboardServer", "Sources/SwitchboardStorage", "Sources/SwitchboardFlows",
        "ChannelAdapters",
    ]

    /// `path: the line's code, trimmed` → why it cannot be reached from a request. Empty today.
    static let allowed: [String: String] = [:]

    @Test("no trapping operation in the gateway's request paths")
    func noTraps() throws {
        var found: [String] = []
        for directory in Self.audited {
            for file in try Self.swiftFiles(in: Self.root.appendingPathComponent(directory)) {
                let relative = String(file.path.dropFirst(Self.root.path.count + 1))
                let lines = try String(contentsOf: file, encoding: .utf8).components(separatedBy: "\n")
                for (number, code) in Self.code(of: lines).enumerated() {
                    let operations = Self.traps(in: code)
                    guard !operations.isEmpty else { continue }
                    let key = relative + ": " + lines[number].trimmingCharacters(in: .whitespaces)
                    if Self.allowed[key] == nil {
                        found.append("\(relative):\(number + 1): \(operations.joined(separator: ", ")): \(lines[number].trimmingCharacters(in: .whitespaces))")
                    }
                }
            }
        }
        #expect(found.isEmpty, "trapping operations (use guard/if let with a typed error, or allow-list with a reason):\n\(found.joined(separator: "\n"))")
    }

    @Test("the audit sees what it looks for")
    func detects() {
        #expect(Self.traps(in: "let x = try! decode()") == ["try!"])
        #expect(Self.traps(in: "let y = values[0]!") == ["force unwrap"])
        #expect(Self.traps(in: "let z = thing.value!.count") == ["force unwrap"])
        #expect(Self.traps(in: "let n = Int(text)!") == ["force unwrap"])
        #expect(Self.traps(in: "let w = box as! Int") == ["as!"])
        #expect(Self.traps(in: "fatalError(\"no\")") == ["fatalError"])
        #expect(Self.traps(in: "precondition(x > 0)") == ["precondition"])
        #expect(Self.traps(in: "preconditionFailure()") == ["preconditionFailure"])
        #expect(Self.traps(in: "if a != b, !flag, !(c), x !== y { }").isEmpty)
        #expect(Self.code(of: [#"let s = "Hello!" // really!"#]) == [#"let s = "" "#])
        #expect(Self.code(of: [##"let s = #"a "quoted!" b"#"##]) == [#"let s = """#])
        let quotes = String(repeating: "\"", count: 3)
        #expect(Self.code(of: ["let s = " + quotes, "Done!", quotes, "x!"]) == ["let s = " + quotes, "", "", "x!"])
        #expect(Self.traps(in: Self.code(of: [#"log("value \(box.value!) seen!")"#])[0]) == ["force unwrap"])
    }

    static func swiftFiles(in directory: URL) throws -> [URL] {
        guard let walker = FileManager.default.enumerator(at: directory, includingPropertiesForKeys: nil) else { return [] }
        return walker.compactMap { $0 as? URL }.filter { $0.pathExtension == "swift" }.sorted { $0.path < $1.path }
    }

    static func traps(in code: String) -> [String] {
        var operations: [String] = []
        let checks: [(String, String)] = [
            ("try!", #"\btry!"#), ("fatalError", #"\bfatalError\("#), ("precondition", #"\bprecondition\("#),
            ("preconditionFailure", #"\bpreconditionFailure\("#), ("as!", #"\bas! "#),
            // `!` right after a name, `)` or `]` and not starting `!=`: a force unwrap (try! and as! aside).
            ("force unwrap", #"(?<!\btry)(?<!\bas)(?<=[A-Za-z0-9_)\]])!(?!=)"#),
        ]
        for (name, pattern) in checks where code.range(of: pattern, options: .regularExpression) != nil {
            operations.append(name)
        }
        return operations
    }

    /// Each line with its string literals' contents and its comments removed, so that `"Hello!"`
    /// and `// really!` do not count. Multi-line string literals become empty lines.
    static func code(of lines: [String]) -> [String] {
        var result: [String] = []
        var inMultiline = false
        var inBlockComment = false
        for line in lines {
            var output = ""
            let chars = Array(line)
            var i = 0
            while i < chars.count {
                if inBlockComment {
                    if chars[i] == "*", i + 1 < chars.count, chars[i + 1] == "/" { inBlockComment = false; i += 2 } else { i += 1 }
                    continue
                }
                if inMultiline {
                    if line.dropFirst(i).hasPrefix("\"\"\"") { inMultiline = false; i += 3 } else { i += 1 }
                    continue
                }
                let rest = line.dropFirst(i)
                if rest.hasPrefix("//") { break }
                if rest.hasPrefix("/*") { inBlockComment = true; i += 2; continue }
                if rest.hasPrefix("#\"\"\"") || rest.hasPrefix("\"\"\"") {
                    output += "\"\"\""
                    inMultiline = true
                    i += rest.hasPrefix("#") ? 4 : 3
                    continue
                }
                if rest.hasPrefix("#\"") {
                    // A raw string: ends at the next `"#`.
                    output += "\"\""
                    i += 2
                    while i < chars.count, !(chars[i] == "\"" && i + 1 < chars.count && chars[i + 1] == "#") { i += 1 }
                    i += 2
                    continue
                }
                if chars[i] == "\"" {
                    // The literal's text goes; an interpolation `\(...)` in it is code and stays.
                    output += "\""
                    i += 1
                    while i < chars.count, chars[i] != "\"" {
                        if chars[i] == "\\", i + 1 < chars.count, chars[i + 1] == "(" {
                            var depth = 0
                            i += 1
                            repeat {
                                if chars[i] == "(" { depth += 1 } else if chars[i] == ")" { depth -= 1 }
                                output.append(chars[i])
                                i += 1
                            } while i < chars.count && depth > 0
                        } else {
                            i += chars[i] == "\\" ? 2 : 1
                        }
                    }
                    output += "\""
                    i += 1
                    continue
                }
                output.append(chars[i])
                i += 1
            }
            result.append(output)
        }
        return result
    }
}
