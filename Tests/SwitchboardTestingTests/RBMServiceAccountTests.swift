import CurlHTTPClient
import Foundation
import RBMAdapter
import SwitchboardCore
import SwitchboardServer
import SwitchboardSimulator
import SwitchboardTesting
import Testing
import _CryptoExtras

/// RBM in production mode: access tokens minted from a service account at the simulator's token
/// endpoint, which checks each JWT with the account's public key.
@Suite("RBM with a service account")
struct RBMServiceAccountTests {
    /// What the simulator saw, in order: token requests and RBM calls with their answers.
    static func calls(_ sandbox: SwitchboardSandbox) async -> [String] {
        await sandbox.simulator.recorder.all().compactMap { request in
            switch request.provider {
            case "google-oauth": "token \(request.responseStatus)"
            case "rbm" where request.path.hasSuffix("/agentMessages"): "send \(request.responseStatus)"
            case "rbm": "lookup \(request.responseStatus)"
            default: nil
            }
        }
    }

    @Test("a token the API stops accepting is replaced once, and the refused send goes again")
    func acrossExpiry() async throws {
        // Tokens really live 1.5 s but claim an hour: only RBM's 401 tells the gateway.
        let sandbox = try await SwitchboardSandbox.start(rbmServiceAccount: .init(lifetime: 1.5, advertisedLifetime: 3600)) {
            $0.bot.kind = .echo
        }
        do {
            try await sandbox.send(.rcs(from: "+15551237001", text: "first"))
            let first = try await sandbox.expectReply(to: "+15551237001")
            #expect(first.json?.contains("first") == true)
            #expect(await Self.calls(sandbox) == ["token 200", "lookup 200", "send 200"])

            try await Task.sleep(for: .milliseconds(1_700))
            try await sandbox.send(.rcs(from: "+15551237001", text: "second"))
            let second = try await sandbox.expectReply(to: "+15551237001")
            #expect(second.json?.contains("second") == true)
            // The expired token is refused; one new token; the same message accepted once.
            #expect(await Self.calls(sandbox) == ["token 200", "lookup 200", "send 200", "send 401", "token 200", "send 200"])
            let accepted = await sandbox.simulator.recorder.all().filter { $0.provider == "rbm" && $0.responseStatus == 200 && $0.method == "POST" }
            #expect(Set(accepted.compactMap(\.providerMessageId)).count == 2)
        } catch {
            await sandbox.stop()
            throw error
        }
        await sandbox.stop()
    }

    @Test("a token is replaced before it expires, without a refused call or a send waiting")
    func refreshAhead() async throws {
        // Four-second tokens, honestly advertised: replaced a second early (long enough that a
        // loaded machine's slow reply does not reach the second token's own refresh).
        let sandbox = try await SwitchboardSandbox.start(rbmServiceAccount: .init(lifetime: 4)) { $0.bot.kind = .echo }
        do {
            try await sandbox.send(.rcs(from: "+15551237002", text: "one"))
            _ = try await sandbox.expectReply(to: "+15551237002")
            try await Task.sleep(for: .milliseconds(3_200))
            try await sandbox.send(.rcs(from: "+15551237002", text: "two"))
            _ = try await sandbox.expectReply(to: "+15551237002")
            // The second send used the first token, still valid, and a new one was fetched
            // behind it: two tokens, no call refused.
            try await Task.sleep(for: .milliseconds(300))
            let calls = await Self.calls(sandbox)
            #expect(calls.filter { $0 == "token 200" }.count == 2)
            #expect(calls.filter { $0.hasPrefix("send") } == ["send 200", "send 200"])
            #expect(!calls.contains { $0.hasSuffix(" 401") })
        } catch {
            await sandbox.stop()
            throw error
        }
        await sandbox.stop()
    }

    @Test("the simulator's token endpoint refuses a JWT signed by another key, and RBM a token it never issued")
    func refusals() async throws {
        let sandbox = try await SwitchboardSandbox.start(rbmServiceAccount: .init())
        do {
            let stranger = GoogleServiceAccount(
                clientEmail: "intruder@example.iam.gserviceaccount.com", privateKey: try _RSA.Signing.PrivateKey(keySize: .bits2048),
                tokenURI: sandbox.simulatorURL + "/token")
            let request = stranger.tokenRequest(assertion: try stranger.assertion(now: Date()))
            let client = CurlHTTPClient()
            let answer = try await client.execute(HTTPClientRequest(
                method: request.method, url: request.url, headers: request.headers.map { (name: $0.name, value: $0.value) }, body: request.body))
            #expect(answer.status == 400)
            #expect(String(decoding: answer.body, as: UTF8.self).contains(#""error":"invalid_grant""#))
            let rbm = try await client.execute(HTTPClientRequest(
                url: sandbox.simulatorURL + "/v1/phones/+15551237003/capabilities?requestId=r&agentId=sandbox-agent",
                headers: [(name: "Authorization", value: "Bearer ya29.made-up")]))
            #expect(rbm.status == 401)
            #expect(String(decoding: rbm.body, as: UTF8.self).contains("UNAUTHENTICATED"))
            client.shutdown()
        } catch {
            await sandbox.stop()
            throw error
        }
        await sandbox.stop()
    }
}
