import CurlHTTPClient
import FixtureSupport
import Foundation
import SwitchboardCore
import SwitchboardSimulator
import Testing

/// The simulator's fake send APIs against the providers' documented examples (Tests/Fixtures, each
/// directory's SOURCE.md cites the pages): a documented request is accepted with a body of the
/// documented shape, and refusals carry the provider's error shape.
@Suite("Simulator fakes against the providers' documentation")
struct SimulatorFakeTests {
    /// Every key path of a JSON value with the kind of value there (`string`, `number`, `null`, …).
    static func shape(_ value: Any, path: String = "") -> [String: String] {
        switch value {
        case let object as [String: Any]:
            return object.reduce(into: [path: "object"]) { shape, entry in
                shape.merge(Self.shape(entry.value, path: path + "/" + entry.key)) { first, _ in first }
            }
        case let array as [Any]:
            return array.first.map { Self.shape($0, path: path + "[]") }.map { $0.merging([path: "array"]) { first, _ in first } } ?? [path: "array"]
        case is NSNull: return [path: "null"]
        case let number as NSNumber: return [path: String(cString: number.objCType) == "c" ? "bool" : "number"]
        case is String: return [path: "string"]
        default: return [path: "\(type(of: value))"]
        }
    }

    static func json(_ bytes: [UInt8]) throws -> Any {
        try JSONSerialization.jsonObject(with: Data(bytes))
    }

    func post(_ env: TestEnvironment, _ path: String, contentType: String, headers: [(name: String, value: String)] = [], body: [UInt8]) async throws -> HTTPClientResponse {
        try await env.client.execute(HTTPClientRequest(
            method: "POST", url: env.simulatorURL + path, headers: [(name: "Content-Type", value: contentType)] + headers, body: body))
    }

    var twilioAuth: (name: String, value: String) {
        (name: "Authorization", value: "Basic " + Data("\(TestEnvironment.accountSid):\(TestEnvironment.authToken)".utf8).base64EncodedString())
    }

    @Test("Twilio: the documented create request is answered 201 with a Message resource of the documented shape")
    func twilioMessages() async throws {
        try await TestEnvironment.with { env in
            let path = "/2010-04-01/Accounts/\(TestEnvironment.accountSid)/Messages.json"
            let accepted = try await post(env, path, contentType: "application/x-www-form-urlencoded", headers: [twilioAuth],
                                          body: try Fixtures.bytes("twilio/send-message.form"))
            #expect(accepted.status == 201)
            let documented = try Self.json(Fixtures.bytes("twilio/send-message-response.json"))
            #expect(Self.shape(try Self.json(accepted.body)) == Self.shape(documented))
            let resource = try #require(try Self.json(accepted.body) as? [String: Any])
            #expect(resource["to"] as? String == "+13455431221")
            #expect(resource["body"] as? String == "A Test Message")
            #expect((resource["sid"] as? String)?.count == 34)
            // RFC 2822 dates, as in the documented example ("Fri, 13 Aug 2010 01:16:24 +0000").
            let created = try #require(resource["date_created"] as? String)
            #expect(created.wholeMatch(of: /[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} \+0000/) != nil, "\(created)")
            let parser = DateFormatter()
            parser.locale = Locale(identifier: "en_US_POSIX")
            parser.dateFormat = "EEE, dd MMM yyyy HH:mm:ss Z"
            #expect(abs((parser.date(from: created) ?? .distantPast).timeIntervalSinceNow) < 60)

            // Without `To`, with a bad number, without auth: Twilio's error body, its code and status.
            let errorShape = Self.shape(try Self.json(Fixtures.bytes("twilio/error-21211.json")))
            for (form, status, code) in [("From=%2B15104564545&Body=hi", 400, 21604), ("To=5551234567&From=%2B15104564545&Body=hi", 400, 21211)] {
                let refused = try await post(env, path, contentType: "application/x-www-form-urlencoded", headers: [twilioAuth], body: Array(form.utf8))
                #expect(refused.status == status)
                #expect(Self.shape(try Self.json(refused.body)) == errorShape)
                #expect((try Self.json(refused.body) as? [String: Any])?["code"] as? Int == code)
            }
            let unauthenticated = try await post(env, path, contentType: "application/x-www-form-urlencoded",
                                                 body: try Fixtures.bytes("twilio/send-message.form"))
            #expect(unauthenticated.status == 401)
            #expect(Self.shape(try Self.json(unauthenticated.body)) == errorShape)
        }
    }

    @Test("Messenger: the documented quick-reply send is answered with recipient_id and message_id; refusals are Graph errors")
    func messengerSend() async throws {
        try await TestEnvironment.with { env in
            let path = "/v21.0/me/messages?access_token=test-page-token"
            let accepted = try await post(env, path, contentType: "application/json", body: try Fixtures.bytes("messenger/send-quick-replies.json"))
            #expect(accepted.status == 200)
            #expect(Self.shape(try Self.json(accepted.body)) == Self.shape(try Self.json(Fixtures.bytes("messenger/send-response.json"))))
            #expect((try Self.json(accepted.body) as? [String: Any])?["recipient_id"] as? String == "1254477777772919")

            // The documented error shape, less the optional subcode.
            var errorShape = Self.shape(try Self.json(Fixtures.bytes("messenger/error-190.json")))
            errorShape["/error/error_subcode"] = nil
            let badToken = try await post(env, "/v21.0/me/messages?access_token=wrong", contentType: "application/json",
                                          body: try Fixtures.bytes("messenger/send-quick-replies.json"))
            #expect(badToken.status == 400 || badToken.status == 401)
            #expect(Self.shape(try Self.json(badToken.body)) == errorShape)
            #expect(((try Self.json(badToken.body) as? [String: Any])?["error"] as? [String: Any])?["code"] as? Int == 190)

            let replies = (0..<14).map { #"{"content_type":"text","title":"R\#($0)","payload":"P\#($0)"}"# }.joined(separator: ",")
            let tooMany = try await post(env, path, contentType: "application/json", body: Array(
                #"{"recipient":{"id":"1254477777772919"},"messaging_type":"RESPONSE","message":{"text":"Pick","quick_replies":[\#(replies)]}}"#.utf8))
            #expect(tooMany.status == 400)
            #expect(Self.shape(try Self.json(tooMany.body)) == errorShape)
        }
    }

    @Test("RBM: the documented agent message with suggestions is accepted; refusals are Google API errors")
    func rbmAgentMessages() async throws {
        try await TestEnvironment.with { env in
            let bearer = (name: "Authorization", value: "Bearer test-rbm-access-token")
            let path = "/v1/phones/+12223334444/agentMessages?messageId=msg-fixture-1&agentId=test-agent"
            let accepted = try await post(env, path, contentType: "application/json", headers: [bearer],
                                          body: try Fixtures.bytes("rbm/send-suggestions.json"))
            #expect(accepted.status == 200)
            let message = try #require(try Self.json(accepted.body) as? [String: Any])
            #expect(message["name"] as? String == "phones/+12223334444/agentMessages/msg-fixture-1")
            #expect((message["sendTime"] as? String).flatMap(Timestamp.date(from:)) != nil)

            let errorShape = Self.shape(try Self.json(Fixtures.bytes("rbm/error-not-found.json")))
            await env.simulator.scenario.setPhone("+12223335555", rcsFeatures: nil)
            let noRCS = try await post(env, "/v1/phones/+12223335555/agentMessages?messageId=msg-fixture-2", contentType: "application/json",
                                       headers: [bearer], body: try Fixtures.bytes("rbm/send-suggestions.json"))
            #expect(noRCS.status == 404)
            #expect(Self.shape(try Self.json(noRCS.body)) == errorShape)
            let unauthenticated = try await post(env, path, contentType: "application/json", body: try Fixtures.bytes("rbm/send-suggestions.json"))
            #expect(unauthenticated.status == 401)
            #expect(Self.shape(try Self.json(unauthenticated.body)) == errorShape)
            let longSuggestion = try await post(env, "/v1/phones/+12223334444/agentMessages?messageId=msg-fixture-3", contentType: "application/json",
                                                headers: [bearer], body: Array(
                #"{"contentMessage":{"text":"Hi","suggestions":[{"reply":{"text":"This suggestion is far too long","postbackData":"x"}}]}}"#.utf8))
            #expect(longSuggestion.status == 400)
            #expect(Self.shape(try Self.json(longSuggestion.body)) == errorShape)
        }
    }

    @Test("RBM: rich cards and carousels are checked as RBM does: one content kind, 2 to 10 cards, 4 suggestions a card")
    func rbmRichCards() async throws {
        try await TestEnvironment.with { env in
            let bearer = (name: "Authorization", value: "Bearer test-rbm-access-token")
            let errorShape = Self.shape(try Self.json(Fixtures.bytes("rbm/error-not-found.json")))
            func send(_ id: String, _ content: String) async throws -> HTTPClientResponse {
                try await post(env, "/v1/phones/+12223334444/agentMessages?messageId=\(id)", contentType: "application/json",
                               headers: [bearer], body: Array(#"{"contentMessage":\#(content)}"#.utf8))
            }
            // Google's own standalone-card sample is accepted as it stands.
            let documented = try await post(env, "/v1/phones/+12223334444/agentMessages?messageId=rich-doc", contentType: "application/json",
                                            headers: [bearer], body: try Fixtures.bytes("rbm/send-standalone-card.json"))
            #expect(documented.status == 200)
            let card = #"{"title":"Basic","description":"5 GB","media":{"height":"MEDIUM","contentInfo":{"fileUrl":"https://example.com/a.png"}},"suggestions":[{"reply":{"text":"Choose","postbackData":"A"}},{"action":{"text":"Call","postbackData":"dial:Call","dialAction":{"phoneNumber":"+15550100200"}}}]}"#
            let carousel = try await send("rich-1", #"{"richCard":{"carouselCard":{"cardWidth":"MEDIUM","cardContents":[\#(card),\#(card)]}}}"#)
            #expect(carousel.status == 200)
            let standalone = try await send("rich-2", #"{"richCard":{"standaloneCard":{"cardOrientation":"VERTICAL","cardContent":\#(card)}}}"#)
            #expect(standalone.status == 200)
            let refusals = [
                #"{"richCard":{"carouselCard":{"cardWidth":"MEDIUM","cardContents":[\#(card)]}}}"#: "2 to 10 cards",
                #"{"text":"and a card","richCard":{"standaloneCard":{"cardOrientation":"VERTICAL","cardContent":\#(card)}}}"#: "exactly one of",
                #"{"richCard":{"standaloneCard":{"cardContent":\#(card)}}}"#: "cardOrientation",
                #"{"richCard":{"standaloneCard":{"cardOrientation":"VERTICAL","cardContent":{"title":"x","suggestions":[\#(Array(repeating: #"{"reply":{"text":"a","postbackData":"a"}}"#, count: 5).joined(separator: ","))]}}}}"#: "maximum 4",
                #"{"richCard":{"standaloneCard":{"cardOrientation":"VERTICAL","cardContent":{"title":"x","media":{"height":"HUGE","contentInfo":{"fileUrl":"https://example.com/a.png"}}}}}}"#: "height",
                #"{"text":"hi","suggestions":[{"action":{"text":"Open","openUrlAction":{"url":"javascript:alert(1)"}}}]}"#: "https URL",
            ]
            for (index, (content, named)) in refusals.enumerated() {
                let refused = try await send("rich-bad-\(index)", content)
                #expect(refused.status == 400, "\(content)")
                #expect(Self.shape(try Self.json(refused.body)) == errorShape)
                #expect(refused.text.contains(named), "\(refused.text)")
            }
        }
    }

    @Test("Messenger: generic and button templates are checked as the Send API does: 10 elements, 3 buttons, 20-character titles")
    func messengerTemplates() async throws {
        try await TestEnvironment.with { env in
            let path = "/v21.0/me/messages?access_token=test-page-token"
            var errorShape = Self.shape(try Self.json(Fixtures.bytes("messenger/error-190.json")))
            errorShape["/error/error_subcode"] = nil
            func send(_ attachment: String) async throws -> HTTPClientResponse {
                try await post(env, path, contentType: "application/json", body: Array(
                    #"{"recipient":{"id":"1254477777772919"},"messaging_type":"RESPONSE","message":{"attachment":\#(attachment)}}"#.utf8))
            }
            // Meta's documented generic and button template examples are accepted as they stand.
            for fixture in ["messenger/send-generic-template.json", "messenger/send-button-template.json"] {
                #expect(try await post(env, path, contentType: "application/json", body: try Fixtures.bytes(fixture)).status == 200, "\(fixture)")
            }
            let button = #"{"type":"postback","title":"Choose","payload":"A"}"#
            let element = #"{"title":"Basic","subtitle":"5 GB","image_url":"https://example.com/a.png","buttons":[\#(button),{"type":"web_url","title":"Details","url":"https://example.com"},{"type":"phone_number","title":"Call","payload":"+15550100200"}]}"#
            #expect(try await send(#"{"type":"template","payload":{"template_type":"generic","elements":[\#(element),\#(element)]}}"#).status == 200)
            #expect(try await send(#"{"type":"template","payload":{"template_type":"button","text":"Pick","buttons":[\#(button)]}}"#).status == 200)
            let refusals = [
                #"{"type":"template","payload":{"template_type":"generic","elements":[\#(Array(repeating: element, count: 11).joined(separator: ","))]}}"#: "between 1 and 10",
                #"{"type":"template","payload":{"template_type":"button","text":"Pick","buttons":[\#(button),\#(button),\#(button),\#(button)]}}"#: "at most 3",
                #"{"type":"template","payload":{"template_type":"generic","elements":[{"title":"x","buttons":[{"type":"postback","title":"A title over twenty chars","payload":"A"}]}]}}"#: "1 to 20",
                #"{"type":"template","payload":{"template_type":"generic","elements":[{"subtitle":"no title"}]}}"#: "[title] is required",
                #"{"type":"template","payload":{"template_type":"generic","elements":[{"title":"alone"}]}}"#: "at least one of subtitle",
                #"{"type":"template","payload":{"template_type":"generic","elements":[{"title":"x","buttons":[{"type":"phone_number","title":"Call","payload":"5550100"}]}]}}"#: "phone number",
            ]
            for (content, named) in refusals {
                let refused = try await send(content)
                #expect(refused.status == 400, "\(content)")
                #expect(Self.shape(try Self.json(refused.body)) == errorShape)
                #expect(refused.text.contains(named), "\(refused.text)")
            }
        }
    }
}
