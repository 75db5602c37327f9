import CurlHTTPClient
import Foundation
import SwitchboardCore
import SwitchboardServer
import SwitchboardSimulator
import Testing

/// docs/api.md's examples, run as written.
@Suite("API documentation examples")
struct APIDocumentationTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    struct Step {
        var method: String
        var path: String
        var body: String?
        var status: Int
        var fragment: String?
    }

    /// The `api-example` blocks, each a list of request/answer pairs.
    static func examples() throws -> [[Step]] {
        let text = try String(contentsOf: root.appendingPathComponent("docs/api.md"), encoding: .utf8)
        var blocks: [[Step]] = []
        var current: [Step]?
        var pending: (String, String, String?)?
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let line = String(raw)
            if line.hasPrefix("```api-example") { current = []; continue }
            if line.hasPrefix("```"), let steps = current { blocks.append(steps); current = nil; continue }
            guard current != nil else { continue }
            if line.hasPrefix("> ") {
                let parts = line.dropFirst(2).split(separator: " ", maxSplits: 2).map(String.init)
                pending = (parts[0], parts[1], parts.count > 2 ? parts[2] : nil)
            } else if line.hasPrefix("< "), let request = pending {
                let parts = line.dropFirst(2).split(separator: " ", maxSplits: 1).map(String.init)
                current?.append(Step(method: request.0, path: request.1, body: request.2, status: Int(parts[0]) ?? 0,
                                     fragment: parts.count > 1 ? parts[1] : nil))
                pending = nil
            }
        }
        return blocks
    }

    @Test("every example answers as documented")
    func examples() async throws {
        let blocks = try Self.examples()
        #expect(blocks.count == 3)
        for steps in blocks {
            try await TestEnvironment.with(configure: { $0.bot.kind = GatewayConfiguration.BotSettings.Kind.none }) { (env: TestEnvironment) async throws in
                _ = try await env.sender.sendSMS(from: "+15551230000", text: "hello")
                let contact = try await env.firstContact().id
                for step in steps {
                    let path = step.path.replacingOccurrences(of: "{contact}", with: contact)
                    let response = try await env.api(step.method, path, body: step.body)
                    #expect(response.status == step.status, "\(step.method) \(step.path): \(response.text)")
                    if let fragment = step.fragment {
                        #expect(response.text.contains(fragment), "\(step.method) \(step.path): \(response.text)")
                    }
                }
            }
        }
    }
}
