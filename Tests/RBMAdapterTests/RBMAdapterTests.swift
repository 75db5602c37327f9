import FixtureSupport
import Foundation
import SwitchboardCore
import Testing
@testable import RBMAdapter

@Suite("RBM adapter")
struct RBMAdapterTests {
    let adapter = RBMAdapter(settings: RBMSettings(
        agentId: "my-agent", clientToken: "SJENCPGJESMGUFPY", accessToken: "access", apiBaseURL: "https://rcsbusinessmessaging.googleapis.com"))

    /// A Pub/Sub push of `data`, signed as RBM signs it.
    func push(_ data: [UInt8], signature: String? = nil) throws -> WebhookRequest {
        let envelope: [String: Any] = [
            "message": ["data": Data(data).base64EncodedString(), "messageId": "123", "publishTime": "2025-01-01T00:00:00Z"],
            "subscription": "projects/p/subscriptions/s",
        ]
        return WebhookRequest(
            method: "POST", publicURL: "https://gw.example/webhooks/rbm",
            headers: [
                "content-type": "application/json",
                "x-goog-signature": signature ?? HMACSignature.sha512Base64(key: "SJENCPGJESMGUFPY", message: data),
            ],
            body: Array(try JSONSerialization.data(withJSONObject: envelope)))
    }

    func events(_ json: String) throws -> [InboundEvent] {
        try adapter.verifiedEvents(try push(Array(json.utf8)))
    }

    func fixtures(_ name: String) throws -> [String] {
        let items = try JSONSerialization.jsonObject(with: Data(try Fixtures.bytes("rbm/\(name)"))) as! [Any]
        return try items.map { String(decoding: try JSONSerialization.data(withJSONObject: $0), as: UTF8.self) }
    }

    @Test("the setup handshake answers the secret for the right client token (webhooks guide example)")
    func handshake() throws {
        let body = Array(#"{"clientToken":"SJENCPGJESMGUFPY","secret":"1234567890"}"#.utf8)
        let request = WebhookRequest(method: "POST", publicURL: "x", headers: ["content-type": "application/json"], body: body)
        #expect(try adapter.handshakeSecret(request) == "1234567890")
        var wrong = request
        wrong.body = Array(#"{"clientToken":"OTHER","secret":"1234567890"}"#.utf8)
        #expect(throws: WebhookError.self) { try adapter.handshakeSecret(wrong) }
        #expect(try adapter.handshakeSecret(try push(Array("{}".utf8))) == nil)
    }

    @Test("X-Goog-Signature covers the decoded data, not the body or the base64 text")
    func signature() throws {
        let data = try Fixtures.bytes("rbm/user-message-text.json")
        try adapter.verify(try push(data))
        let overBase64 = HMACSignature.sha512Base64(key: "SJENCPGJESMGUFPY", message: Array(Data(data).base64EncodedString().utf8))
        #expect(throws: WebhookError.self) { try adapter.verify(try push(data, signature: overBase64)) }
        var unsigned = try push(data)
        unsigned.headers["x-goog-signature"] = nil
        #expect(throws: WebhookError.badSignature("the X-Goog-Signature header is missing")) { try adapter.verify(unsigned) }
    }

    @Test("a text UserMessage")
    func text() throws {
        let decoded = try adapter.verifiedEvents(try push(try Fixtures.bytes("rbm/user-message-text.json")))
        #expect(decoded == [.message(InboundMessage(
            channel: .rcs, senderAddress: "+12223334444", recipientAddress: "my-agent", providerMessageId: "MxTqGaeBe6Q9abD-J6eTmoCg",
            content: Content(text: "Hello, agent!"), sentAt: Timestamp.date(from: "2014-10-02T15:01:23.045123456Z")))])
    }

    @Test("a suggestion response is text plus a postback")
    func suggestion() throws {
        guard case .message(let message) = try adapter.verifiedEvents(try push(try Fixtures.bytes("rbm/user-message-suggestion.json"))).first else {
            Issue.record("expected a message")
            return
        }
        #expect(message.content == Content(text: "Suggestion #1", postback: .init(title: "Suggestion #1", payload: "suggestion_1")))
    }

    @Test("location and user files")
    func locationAndFile() throws {
        let payloads = try fixtures("user-message-location-and-file.json")
        guard case .message(let location) = try events(payloads[0]).first, case .message(let file) = try events(payloads[1]).first else {
            Issue.record("expected messages")
            return
        }
        #expect(location.content.location == .init(latitude: 37.4220188, longitude: -122.0844786))
        #expect(file.content.attachments == [.init(
            kind: .image, url: "https://rcs-user-content.storage.googleapis.com/abc", mimeType: "image/jpeg", name: "photo.jpg")])
    }

    @Test("DELIVERED and READ name our message; IS_TYPING is typing")
    func events() throws {
        let payloads = try fixtures("user-events.json")
        #expect(try events(payloads[0]) == [.statusUpdate(.init(channel: .rcs, providerMessageId: "msg_01J0000000000000000000000", status: .delivered))])
        #expect(try events(payloads[1]) == [.statusUpdate(.init(channel: .rcs, providerMessageId: "msg_01J0000000000000000000000", status: .read))])
        #expect(try events(payloads[2]) == [.typing(channel: .rcs, senderAddress: "+12223334444")])
    }

    @Test("bad base64 is 400, a missing message.data 422, a wrong media type 415")
    func badInput() throws {
        let json = WebhookRequest(method: "POST", publicURL: "x", headers: ["content-type": "application/json", "x-goog-signature": "x"],
                                  body: Array(#"{"message":{"data":"***"}}"#.utf8))
        #expect(throws: WebhookError.malformed("message.data is not base64")) { try adapter.verifiedEvents(json) }
        var missing = json
        missing.body = Array(#"{"message":{}}"#.utf8)
        #expect(throws: WebhookError.invalid("message.data is missing")) { try adapter.verifiedEvents(missing) }
        var form = json
        form.headers["content-type"] = "text/plain"
        #expect(throws: WebhookError.unsupportedMediaType("RBM webhooks are application/json")) { try adapter.verifiedEvents(form) }
    }

    @Test("a reply renders to agentMessages with our messageId and suggestion chips")
    func render() throws {
        let request = try adapter.render(OutboundEnvelope(
            messageId: "msg_01ABC", recipientAddress: "+12223334444",
            content: Content(text: "Choose", quickReplies: [.init(title: "Yes", payload: "YES")])))
        #expect(request.url == "https://rcsbusinessmessaging.googleapis.com/v1/phones/+12223334444/agentMessages?messageId=msg_01ABC&agentId=my-agent")
        #expect(request.headers.contains(ProviderHeader("Authorization", "Bearer access")))
        let json = try #require(try JSONSerialization.jsonObject(with: Data(request.body)) as? [String: Any])
        let content = try #require(json["contentMessage"] as? [String: Any])
        #expect(content["text"] as? String == "Choose")
        #expect((content["suggestions"] as? [[String: [String: String]]])?.first?["reply"] == ["text": "Yes", "postbackData": "YES"])
        #expect(adapter.interpret(ProviderResponse(status: 200, headers: [], body: Array(#"{"name":"phones/+12223334444/agentMessages/msg_01ABC"}"#.utf8)))
            == .accepted(providerMessageId: "msg_01ABC", status: .sent))
        if case .failed = adapter.interpret(ProviderResponse(status: 404, headers: [], body: Array(#"{"error":{"code":404,"message":"Requested entity was not found.","status":"NOT_FOUND"}}"#.utf8))) {} else {
            Issue.record("404 means no RCS: permanent")
        }
    }

    @Test("409 ALREADY_EXISTS to a send means our messageId was accepted before: sent, under our id")
    func alreadyExistsIsSent() throws {
        let envelope = OutboundEnvelope(messageId: "msg_01RETRIED", recipientAddress: "+12223334444", content: Content(text: "hi"))
        let conflict = ProviderResponse(
            status: 409, headers: [ProviderHeader("Content-Type", "application/json")], body: try Fixtures.bytes("rbm/error-already-exists.json"))
        #expect(adapter.interpret(conflict, for: envelope) == .accepted(providerMessageId: "msg_01RETRIED", status: .sent))
        // Without the call it answers, a 409 is not ours to read as sent; nor is another 409.
        if case .failed = adapter.interpret(conflict) {} else { Issue.record("a 409 alone is a failure") }
        let aborted = ProviderResponse(status: 409, headers: [], body: Array(#"{"error":{"code":409,"message":"x","status":"ABORTED"}}"#.utf8))
        if case .failed = adapter.interpret(aborted, for: envelope) {} else { Issue.record("409 ABORTED is not ALREADY_EXISTS") }
        // A 200 names the same id.
        let created = ProviderResponse(status: 200, headers: [], body: Array(#"{"name":"phones/+12223334444/agentMessages/msg_01RETRIED"}"#.utf8))
        #expect(adapter.interpret(created, for: envelope) == adapter.interpret(conflict, for: envelope))
    }
}
