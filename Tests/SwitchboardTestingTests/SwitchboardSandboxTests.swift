import Foundation
import SwitchboardServer
import SwitchboardSimulator
import SwitchboardTesting
import Testing

/// The sandbox as a bot developer would use it: the shipped welcome flow, two turns, on SMS and Messenger.
@Suite("SwitchboardTesting sandbox")
struct SwitchboardSandboxTests {
    @Test("send a message, expect the flow's replies")
    func welcomeFlow() async throws {
        let sandbox = try await SwitchboardSandbox.start { $0.bot.kind = .flow }
        do {
            try await sandbox.send(.sms(from: "+15551238000", text: "hi"))
            let first = try await sandbox.expectReply(to: "+15551238000")
            #expect(first.formValue("Body") == "Hi! I'm the Switchboard assistant. What's your first name?")
            try await sandbox.send(.sms(from: "+15551238000", text: "Ada"))
            let second = try await sandbox.expectReply(to: "+15551238000")
            #expect(second.formValue("Body")?.hasPrefix("Nice to meet you, Ada!") == true)
            try await sandbox.send(.messenger(psid: "PSID-SANDBOX", text: "hello"))
            let messenger = try await sandbox.expectReply(to: "PSID-SANDBOX")
            #expect(messenger.json?.contains("What's your first name?") == true)
        } catch {
            await sandbox.stop()
            throw error
        }
        await sandbox.stop()
    }

    @Test("a scenario file plays in the sandbox, and a mismatch throws its diff")
    func scenarioFile() async throws {
        let sandbox = try await SwitchboardSandbox.start { $0.bot.kind = .flow }
        do {
            let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            let report = try await sandbox.run(scenario: root.appendingPathComponent("Config/scenarios/welcome.json").path)
            #expect(report.last?.hasSuffix("steps as expected") == true)

            let wrong = FileManager.default.temporaryDirectory.appendingPathComponent("wrong-\(UUID().uuidString).json")
            try Data(#"""
                {"name": "wrong", "contacts": {"ada": {}}, "steps": [
                  {"send": {"channel": "sms", "from": "ada", "text": "hi"}},
                  {"expect": {"channel": "sms", "to": "ada", "text": "Bonjour"}}]}
                """#.utf8).write(to: wrong)
            defer { try? FileManager.default.removeItem(at: wrong) }
            let error = await #expect(throws: SandboxError.self) { try await sandbox.run(scenario: wrong.path) }
            #expect(error?.description.contains(#"- text: "Bonjour""#) == true)
            #expect(error?.description.contains(#"+ text: "Hi! I'm the Switchboard assistant. What's your first name?""#) == true)
        } catch {
            await sandbox.stop()
            throw error
        }
        await sandbox.stop()
    }
}
