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

    @Test("a proactive reminder, sent once for its key; the contact's answer starts the flow")
    func proactiveFlow() async throws {
        let sandbox = try await SwitchboardSandbox.start { $0.bot.kind = .flow }
        do {
            let first = try await sandbox.sendProactive(
                channel: "sms", to: "+1 555 123 8100", text: "Your table is booked for 8 pm. Reply to chat with us.",
                idempotencyKey: "booking-8100")
            #expect(first.status == 202)
            let reminder = try await sandbox.expectReply(to: "+15551238100")
            #expect(reminder.formValue("Body") == "Your table is booked for 8 pm. Reply to chat with us.")
            // The booking system retries its request: the same message, nothing sent again.
            let retried = try await sandbox.sendProactive(
                channel: "sms", to: "+15551238100", text: "Your table is booked for 8 pm. Reply to chat with us.",
                idempotencyKey: "booking-8100")
            #expect(retried.status == 200)
            func id(_ answer: SwitchboardSandbox.APIAnswer) -> String? {
                ((try? JSONSerialization.jsonObject(with: Data(answer.body.utf8))) as? [String: Any])?["id"] as? String
            }
            #expect(id(first)?.hasPrefix("msg_") == true)
            #expect(id(retried) == id(first))
            await #expect(throws: SandboxError.self) { try await sandbox.expectReply(to: "+15551238100", timeout: 0.5) }
            // The contact answers: the conversation goes on with the bot.
            try await sandbox.send(.sms(from: "+15551238100", text: "hi"))
            let welcome = try await sandbox.expectReply(to: "+15551238100")
            #expect(welcome.formValue("Body") == "Hi! I'm the Switchboard assistant. What's your first name?")
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
