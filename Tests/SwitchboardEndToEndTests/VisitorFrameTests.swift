import SwitchboardCore
import SwitchboardServer
import Testing

/// A visitor's frames as docs/webchat-protocol.md lists them, decoded and checked without a socket.
@Suite("Web-chat visitor frames")
struct VisitorFrameTests {
    @Test("each frame of the protocol becomes its request")
    func requests() throws {
        #expect(try VisitorFrame.request(from: #"{"type": "message", "text": "hi", "id": "c-17"}"#)
            == .message(Content(text: "hi"), clientId: "c-17"))
        var tapped = Content(text: "Yes")
        tapped.postback = .init(title: "Yes", payload: "YES")
        #expect(try VisitorFrame.request(from: #"{"type": "message", "text": "Yes", "payload": "YES"}"#)
            == .message(tapped, clientId: nil))
        #expect(try VisitorFrame.request(from: #"{"type": "resume", "since": "msg_1"}"#) == .resume(since: "msg_1"))
        #expect(try VisitorFrame.request(from: #"{"type": "resume"}"#) == .resume(since: nil))
        #expect(try VisitorFrame.request(from: #"{"type": "read", "messageId": "msg_2"}"#) == .read(messageId: "msg_2"))
        #expect(try VisitorFrame.request(from: #"{"type": "typing"}"#) == .typing)
    }

    @Test("refusals keep the codes the widget knows", arguments: [
        ("not json", "malformed_frame"),
        (#"{"text": "no type"}"#, "malformed_frame"),
        (#"{"type": "message"}"#, "empty_message"),
        (#"{"type": "message", "text": "hi", "id": ""}"#, "malformed_frame"),
        (#"{"type": "message", "text": "hi", "id": "\#(String(repeating: "x", count: 129))"}"#, "malformed_frame"),
        (#"{"type": "read"}"#, "malformed_frame"),
        (#"{"type": "dance"}"#, "unknown_frame_type"),
    ])
    func refusals(_ frame: String, _ code: String) {
        let refusal = #expect(throws: VisitorFrame.Refusal.self) { try VisitorFrame.request(from: frame) }
        #expect(refusal?.code == code)
    }
}
