import CurlHTTPClient
import Foundation
import SwitchboardCore
import SwitchboardServer
import SwitchboardSimulator
import SwitchboardStorage
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("Conversations API")
struct ConversationsAPITests {
    static let noBot: @Sendable (inout GatewayConfiguration) -> Void = { $0.bot.kind = GatewayConfiguration.BotSettings.Kind.none }

    func json(_ env: TestEnvironment, _ method: String, _ path: String, _ body: String? = nil) async throws -> (Int, [String: Any]) {
        let response = try await env.api(method, path, body: body)
        return (response.status, (try? response.json()) ?? [:])
    }

    @Test("PATCH sets name, photo and the bot toggle; bad fields are 422")
    func patchContact() async throws {
        try await TestEnvironment.with(configure: Self.noBot) { (env: TestEnvironment) async throws in
            _ = try await env.sender.sendSMS(from: "+15551232000", text: "hi")
            let id = try await env.firstContact().id
            let (status, contact) = try await json(env, "PATCH", "/api/v1/contacts/\(id)", #"{"name":"Ada Lovelace","photoUrl":"https://x.example/ada.png","botEnabled":false}"#)
            #expect(status == 200)
            #expect(contact["name"] as? String == "Ada Lovelace")
            #expect(contact["botEnabled"] as? Bool == false)
            let (cleared, after) = try await json(env, "PATCH", "/api/v1/contacts/\(id)", #"{"photoUrl":null}"#)
            #expect(cleared == 200)
            #expect(after["photoUrl"] is NSNull)
            #expect(after["name"] as? String == "Ada Lovelace")
            #expect(try await env.api("PATCH", "/api/v1/contacts/\(id)", body: #"{"phone":"+1"}"#).errorCode == "invalid_field")
            #expect(try await env.api("PATCH", "/api/v1/contacts/\(id)", body: #"{"botEnabled":"yes"}"#).status == 422)
            // A number is not a boolean, though Foundation hands both over as NSNumber.
            #expect(try await env.api("PATCH", "/api/v1/contacts/\(id)", body: #"{"botEnabled":1}"#).errorCode == "invalid_field")
            #expect(try await env.api("PATCH", "/api/v1/contacts/\(id)", body: #"{"botEnabled":0}"#).errorCode == "invalid_field")
            #expect(try await env.api("PUT", "/api/v1/contacts/\(id)/subscriptions/sms", body: #"{"subscribed":0}"#).status == 422)
            #expect(try await env.api("PUT", "/api/v1/contacts/\(id)/subscriptions/sms", body: #"{"subscribed":true}"#).status == 200)
            #expect(try await env.api("PATCH", "/api/v1/contacts/\(id)", body: #"{"botEnabled":true}"#).status == 200)
            #expect(try await env.api("PATCH", "/api/v1/contacts/ct_missing", body: #"{"name":"x"}"#).status == 404)
        }
    }

    @Test("attributes: set, validate name and size, delete, 404 for a missing one; they are searchable")
    func attributes() async throws {
        try await TestEnvironment.with(configure: Self.noBot) { (env: TestEnvironment) async throws in
            _ = try await env.sender.sendSMS(from: "+15551232001", text: "hi")
            let id = try await env.firstContact().id
            let (status, contact) = try await json(env, "PUT", "/api/v1/contacts/\(id)/attributes/order_id", #"{"value":"A-1001"}"#)
            #expect(status == 200)
            #expect((contact["attributes"] as? [String: String])?["order_id"] == "A-1001")
            #expect(try await env.api("PUT", "/api/v1/contacts/\(id)/attributes/9bad", body: #"{"value":"x"}"#).errorCode == "invalid_attribute_name")
            let long = String(repeating: "v", count: 1025)
            #expect(try await env.api("PUT", "/api/v1/contacts/\(id)/attributes/big", body: #"{"value":"\#(long)"}"#).errorCode == "invalid_attribute_value")
            #expect(try await env.api("PUT", "/api/v1/contacts/\(id)/attributes/n", body: #"{"value":3}"#).status == 422)
            let found = try await json(env, "GET", "/api/v1/contacts?query=A-100").1
            #expect((found["items"] as? [[String: Any]])?.count == 1)
            let (deleted, after) = try await json(env, "DELETE", "/api/v1/contacts/\(id)/attributes/order_id")
            #expect(deleted == 200)
            #expect((after["attributes"] as? [String: String])?.isEmpty == true)
            #expect(try await env.api("DELETE", "/api/v1/contacts/\(id)/attributes/order_id").errorCode == "attribute_not_found")
        }
    }

    @Test("tags: create (409 twice), assign creating new ones, counts, filter, unassign, delete everywhere")
    func tags() async throws {
        try await TestEnvironment.with(configure: Self.noBot) { (env: TestEnvironment) async throws in
            _ = try await env.sender.sendSMS(from: "+15551232002", text: "one")
            _ = try await env.sender.sendSMS(from: "+15551232003", text: "two")
            let contacts = try await env.gateway.store.contacts(limit: 10, cursor: nil).items
            let (created, tag) = try await json(env, "POST", "/api/v1/tags", #"{"name":"vip"}"#)
            #expect(created == 201)
            #expect(tag["name"] as? String == "vip")
            #expect(try await env.api("POST", "/api/v1/tags", body: #"{"name":"vip"}"#).errorCode == "tag_exists")
            #expect(try await env.api("POST", "/api/v1/tags", body: #"{"name":"-bad"}"#).errorCode == "invalid_tag_name")
            for contact in contacts {
                #expect(try await env.api("PUT", "/api/v1/contacts/\(contact.id)/tags/vip").status == 200)
            }
            let (_, tagged) = try await json(env, "PUT", "/api/v1/contacts/\(contacts[0].id)/tags/needs%20callback")
            #expect(tagged["tags"] as? [String] == ["needs callback", "vip"])
            let catalogue = try await json(env, "GET", "/api/v1/tags").1["items"] as? [[String: Any]]
            #expect(catalogue?.map { $0["name"] as? String } == ["needs callback", "vip"])
            #expect(catalogue?.map { $0["contactCount"] as? Int } == [1, 2])
            let filtered = try await json(env, "GET", "/api/v1/contacts?tag=needs%20callback").1["items"] as? [[String: Any]]
            #expect(filtered?.map { $0["id"] as? String } == [contacts[0].id])
            let (_, untagged) = try await json(env, "DELETE", "/api/v1/contacts/\(contacts[1].id)/tags/vip")
            #expect(untagged["tags"] as? [String] == [])
            #expect(try await env.api("DELETE", "/api/v1/contacts/\(contacts[1].id)/tags/vip").errorCode == "tag_not_assigned")
            #expect(try await env.api("DELETE", "/api/v1/tags/vip").status == 204)
            #expect(try await env.gateway.store.contact(id: contacts[0].id)?.tags == ["needs callback"])
            #expect(try await env.api("DELETE", "/api/v1/tags/vip").errorCode == "tag_not_found")
        }
    }

    @Test("subscriptions: unsubscribe and subscribe a channel through the API")
    func subscriptions() async throws {
        try await TestEnvironment.with(configure: Self.noBot) { (env: TestEnvironment) async throws in
            _ = try await env.sender.sendSMS(from: "+15551232004", text: "hi")
            let id = try await env.firstContact().id
            let (status, contact) = try await json(env, "PUT", "/api/v1/contacts/\(id)/subscriptions/sms", #"{"subscribed":false}"#)
            #expect(status == 200)
            #expect((contact["subscriptions"] as? [String: Bool])?["sms"] == false)
            #expect(try await env.agentReply(id, content: #"{"text":"x"}"#).status == 409)
            _ = try await json(env, "PUT", "/api/v1/contacts/\(id)/subscriptions/sms", #"{"subscribed":true}"#)
            #expect(try await env.agentReply(id, content: #"{"text":"x"}"#).status == 202)
            #expect(try await env.api("PUT", "/api/v1/contacts/\(id)/subscriptions/fax", body: #"{"subscribed":true}"#).status == 404)
            #expect(try await env.api("PUT", "/api/v1/contacts/\(id)/subscriptions/sms", body: #"{"subscribed":"no"}"#).status == 422)
        }
    }

    @Test("the contacts list filters by channel and query over name and phone")
    func filters() async throws {
        try await TestEnvironment.with(configure: Self.noBot) { (env: TestEnvironment) async throws in
            _ = try await env.sender.sendSMS(from: "+15551232005", text: "sms")
            _ = try await env.sender.sendMessenger(psid: "PSID-F", text: "fb")
            let messenger = try await json(env, "GET", "/api/v1/contacts?channel=messenger").1["items"] as? [[String: Any]]
            #expect(messenger?.count == 1)
            let byPhone = try await json(env, "GET", "/api/v1/contacts?query=1232005").1["items"] as? [[String: Any]]
            #expect(byPhone?.first?["phone"] as? String == "+15551232005")
            #expect(try await env.api("GET", "/api/v1/contacts?channel=fax").errorCode == "invalid_channel")
            let percent = try await json(env, "GET", "/api/v1/contacts?query=%25").1["items"] as? [[String: Any]]
            #expect(percent?.isEmpty == true)
        }
    }

    @Test("the event stream carries a new inbound message and the contact change, with the token in the query")
    func events() async throws {
        try await TestEnvironment.with(configure: Self.noBot) { (env: TestEnvironment) async throws in
            let port = Int(env.gatewayURL.split(separator: ":").last!)!
            let reader = SSEReader(port: port, path: "/api/v1/events?access_token=\(env.apiToken)")
            // The stream's opening comment is written once it is subscribed: only then the SMS (a
            // fixed sleep here lost the event on a loaded machine).
            let opening = try await reader.read(until: ": switchboard events", seconds: 5)
            #expect(opening.hasPrefix("HTTP/1.1 200"))
            #expect(opening.lowercased().contains("content-type: text/event-stream"))
            _ = try await env.sender.sendSMS(from: "+15551232006", text: "live")
            let text = try await reader.read(until: "event: contact.changed", seconds: 5)
            #expect(text.contains("event: message.created"))
            #expect(text.contains(#""text":"live""#))
            let refused = try await env.raw("GET", "/api/v1/events?access_token=wrong")
            #expect(refused.status == 401)
        }
    }
}

/// Reads a Server-Sent Events stream over a plain socket (the HTTP client collects whole bodies).
final class SSEReader: @unchecked Sendable {
    let fd: Int32

    init(port: Int, path: String) {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        let request = "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n"
        _ = request.withCString { send(fd, $0, strlen($0), 0) }
        var timeout = timeval(tv_sec: 0, tv_usec: 200_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(fd) }

    /// Everything received until `marker` appears or `seconds` pass.
    func read(until marker: String, seconds: Double) async throws -> String {
        var received = [UInt8]()
        let deadline = Date().addingTimeInterval(seconds)
        var buffer = [UInt8](repeating: 0, count: 65536)
        while Date() < deadline {
            let count = recv(fd, &buffer, buffer.count, 0)
            if count > 0 { received += buffer[0..<count] }
            let text = String(decoding: received, as: UTF8.self)
            if text.contains(marker) { return text }
            await Task.yield()
        }
        return String(decoding: received, as: UTF8.self)
    }
}

@Suite("Contact merge")
struct ContactMergeTests {
    @Test("a Messenger contact and a web-chat visitor become one contact with both trails")
    func merge() async throws {
        try await TestEnvironment.with(configure: { $0.bot.kind = GatewayConfiguration.BotSettings.Kind.none }) { (env: TestEnvironment) async throws in
            _ = try await env.sender.sendMessenger(psid: "PSID-M", text: "from messenger")
            let messenger = try await env.firstContact()
            _ = try await env.api("PUT", "/api/v1/contacts/\(messenger.id)/attributes/order_id", body: #"{"value":"A-1"}"#)
            _ = try await env.api("PUT", "/api/v1/contacts/\(messenger.id)/tags/vip")
            _ = try await env.sender.sendSMS(from: "+15551235000", text: "from sms")
            let sms = try await env.firstContact()
            _ = try await env.api("PATCH", "/api/v1/contacts/\(sms.id)", body: #"{"name":"Ada"}"#)
            let response = try await env.api("POST", "/api/v1/contacts/\(sms.id)/merge", body: #"{"from":"\#(messenger.id)"}"#)
            #expect(response.status == 200)
            let merged = try #require(try await env.gateway.store.contact(id: sms.id))
            #expect(Set(merged.channels.map(\.channel)) == [.sms, .messenger])
            #expect(merged.attributes == ["order_id": "A-1"])
            #expect(merged.tags == ["vip"])
            #expect(merged.name == "Ada")
            #expect(merged.facebook?.psid == "PSID-M")
            #expect(try await env.gateway.store.messages(contactId: sms.id, limit: 10, before: nil).items.count == 2)
            #expect(try await env.gateway.store.contact(id: messenger.id) == nil)
            #expect(try await env.api("POST", "/api/v1/contacts/\(sms.id)/merge", body: #"{"from":"\#(messenger.id)"}"#).status == 404)
            let itself = try await env.api("POST", "/api/v1/contacts/\(sms.id)/merge", body: #"{"from":"\#(sms.id)"}"#)
            #expect(itself.status == 409)
            #expect(itself.errorCode == "invalid_merge")
            // The merged contact keeps receiving on both channels.
            _ = try await env.sender.sendMessenger(psid: "PSID-M", text: "again")
            #expect(try await env.count("contacts") == 1)
        }
    }
}
