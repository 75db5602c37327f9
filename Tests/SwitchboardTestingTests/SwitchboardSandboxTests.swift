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
}
