import CurlHTTPClient
import Foundation
import SwitchboardCore
import SwitchboardServer
import SwitchboardSimulator
import SwitchboardStorage
import Testing

/// Media over real HTTP: an upload is kept whole or not at all, served with the token and through
/// a signed expiring URL, and an agent's attachment reaches the fake Twilio as a MediaUrl that
/// serves those bytes.
@Suite("Media: upload, signed URLs, outbound attachments")
struct MediaTests {
    /// A 1x1 PNG.
    static let png: [UInt8] = Array(Data(base64Encoded:
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==") ?? Data())

    func upload(_ env: TestEnvironment, _ body: [UInt8], type: String?, query: String = "") async throws -> HTTPClientResponse {
        var headers: [(name: String, value: String)] = [(name: "Authorization", value: "Bearer \(env.apiToken)")]
        if let type { headers.append((name: "Content-Type", value: type)) }
        return try await env.raw("POST", "/api/v1/media\(query)", headers: headers, body: body)
    }

    /// The files in the media directory (none half-written: no `.partial`).
    func files(_ env: TestEnvironment) throws -> [String] {
        let root = env.gateway.media.root
        return (FileManager.default.enumerator(atPath: root)?.allObjects as? [String] ?? [])
            .filter { !$0.hasSuffix("/") && !FileManager.default.isDirectory(root + "/" + $0) }
    }

    /// A signed URL under the gateway's public URL, as a loopback path.
    func local(_ env: TestEnvironment, _ url: String) -> String {
        String(url.dropFirst(TestEnvironment.publicURL.count))
    }

    @Test("an upload is kept and served with the token and at its signed URL; a wrong or expired signature is 403")
    func uploadAndServe() async throws {
        try await TestEnvironment.with { env in
            let created = try await upload(env, Self.png, type: "image/png", query: "?name=dot.png")
            #expect(created.status == 201)
            let item = try created.json()
            let id = try #require(item["id"] as? String)
            let url = try #require(item["url"] as? String)
            #expect(id.hasPrefix("med_") && item["mimeType"] as? String == "image/png" && item["size"] as? Int == Self.png.count)
            #expect(item["name"] as? String == "dot.png")
            #expect(url.hasPrefix(TestEnvironment.publicURL + "/media/\(id)?expires="))
            #expect(created.header("Location") == "/api/v1/media/\(id)")

            let withToken = try await env.api("GET", "/api/v1/media/\(id)")
            #expect(withToken.status == 200 && withToken.body == Self.png)
            #expect(withToken.header("Content-Type") == "image/png")
            #expect(withToken.header("X-Content-Type-Options") == "nosniff")
            #expect(try await env.raw("GET", "/api/v1/media/\(id)").status == 401)

            let signed = try await env.raw("GET", local(env, url))
            #expect(signed.status == 200 && signed.body == Self.png)
            #expect(signed.header("Content-Security-Policy")?.contains("sandbox") == true)
            let tampered = try await env.raw("GET", local(env, url).replacingOccurrences(of: "signature=", with: "signature=0"))
            #expect(tampered.status == 403 && tampered.errorCode == "bad_signature")
            #expect(try await env.raw("GET", "/media/\(id)").errorCode == "bad_signature")
            env.clock.advance(by: 7 * 24 * 3600 + 1)
            let expired = try await env.raw("GET", local(env, url))
            #expect(expired.status == 403 && expired.errorCode == "url_expired")
            #expect(try await env.api("GET", "/api/v1/media/med_00000000000000000000000000").errorCode == "media_not_found")
            #expect(try await env.api("GET", "/api/v1/media/..%2F..%2Fetc%2Fpasswd").status == 404)
            #expect(try files(env).count == 2)
        }
    }

    @Test("a type the gateway does not keep, contents that are not the type, a form without a file, or nothing: refused, nothing kept")
    func refusedTypes() async throws {
        try await TestEnvironment.with { env in
            let html = Array("<html><script>alert(1)</script></html>".utf8)
            let cases: [(body: [UInt8], type: String?, status: Int, code: String)] = [
                (html, "text/html", 415, "unsupported_media_type"),
                (html, "image/png", 415, "unsupported_media_type"),
                (Self.png, nil, 415, "unsupported_media_type"),
                (Self.png, "multipart/mixed; boundary=x", 415, "unsupported_media_type"),
                (Self.png, "multipart/form-data; boundary=x", 400, "malformed_body"),
                (MediaTests.form(html, type: "image/png"), "multipart/form-data; boundary=sb-test", 415, "unsupported_media_type"),
                (MediaTests.form(html, type: "text/html"), "multipart/form-data; boundary=sb-test", 415, "unsupported_media_type"),
                ([], "image/png", 400, "malformed_body"),
            ]
            for refused in cases {
                let answer = try await upload(env, refused.body, type: refused.type)
                #expect(answer.status == refused.status && answer.errorCode == refused.code, "\(refused.type ?? "no type")")
            }
            #expect(try files(env).isEmpty)
        }
    }

    /// A form as `curl -F file=@receipt.png` sends it.
    static func form(_ bytes: [UInt8], type: String, filename: String = "receipt.png") -> [UInt8] {
        Array("--sb-test\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhello\r\n".utf8)
            + Array("--sb-test\r\nContent-Disposition: form-data; name=\"file\"; filename=\"\(filename)\"\r\nContent-Type: \(type)\r\n\r\n".utf8)
            + bytes + Array("\r\n--sb-test--\r\n".utf8)
    }

    @Test("a form upload keeps its file part, named by its filename")
    func formUpload() async throws {
        try await TestEnvironment.with { env in
            let created = try await upload(env, Self.form(Self.png, type: "image/png"), type: "multipart/form-data; boundary=sb-test")
            #expect(created.status == 201)
            let item = try created.json()
            #expect(item["name"] as? String == "receipt.png" && item["mimeType"] as? String == "image/png" && item["size"] as? Int == Self.png.count)
            let id = try #require(item["id"] as? String)
            #expect(try await env.api("GET", "/api/v1/media/\(id)").body == Self.png)
            // A part sent without a type (curl, for an unknown extension) is typed by its signature.
            let untyped = Array("--sb-test\r\nContent-Disposition: form-data; name=\"file\"; filename=\"scan\"\r\n\r\n".utf8)
                + Self.png + Array("\r\n--sb-test--\r\n".utf8)
            let typed = try await upload(env, untyped, type: "multipart/form-data; boundary=sb-test")
            #expect(typed.status == 201)
            #expect(try typed.json()["mimeType"] as? String == "image/png")
        }
    }

    @Test("past media.maxBytes: 413 by Content-Length, and nothing kept")
    func tooLarge() async throws {
        try await TestEnvironment.with(configure: { $0.media.maxBytes = 2048 }) { env in
            let big = Self.png + [UInt8](repeating: 0, count: 4096)
            let answer = try await upload(env, big, type: "image/png")
            #expect(answer.status == 413 && answer.errorCode == "payload_too_large")
            #expect(try files(env).isEmpty)
            #expect(try await upload(env, Self.png, type: "image/png").status == 201)
        }
    }

    @Test("an agent's attachment goes to Twilio as MediaUrl, and that URL serves the uploaded bytes")
    func outboundAttachment() async throws {
        try await TestEnvironment.with(configure: { $0.bot.kind = .none }) { env in
            _ = try await env.sender.sendSMS(from: "+15550107001", text: "send me the map")
            let contact = try await env.firstContact()
            let url = try #require(try await upload(env, Self.png, type: "image/png", query: "?name=map.png").json()["url"] as? String)
            let reply = try await env.agentReply(
                contact.id, content: #"{"text":"Here it is","attachments":[{"kind":"image","url":"\#(url)","mimeType":"image/png","name":"map.png"}]}"#)
            #expect(reply.status == 202)
            try await eventually("Twilio got the MMS") {
                await env.providerRequests().contains { $0.provider == "twilio" && $0.formValue("MediaUrl") != nil }
            }
            let sent = try #require(await env.providerRequests().first { $0.provider == "twilio" && $0.formValue("MediaUrl") != nil })
            #expect(sent.formValue("MediaUrl") == url)
            let fetched = try await env.raw("GET", local(env, url))
            #expect(fetched.status == 200 && fetched.body == Self.png)
        }
    }
}

extension FileManager {
    func isDirectory(_ path: String) -> Bool {
        var directory: ObjCBool = false
        return fileExists(atPath: path, isDirectory: &directory) && directory.boolValue
    }
}

@Suite("Media URL signatures")
struct MediaURLSignerTests {
    let signer = MediaURLSigner(secret: "media-key", publicURL: "https://gw.example", lifetime: 600)
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    func parts(_ url: String) -> (id: String, expires: String?, signature: String?) {
        let components = URLComponents(string: url)
        let items = components?.queryItems ?? []
        return (String(components?.path.dropFirst("/media/".count) ?? ""),
                items.first { $0.name == "expires" }?.value, items.first { $0.name == "signature" }?.value)
    }

    @Test("a URL opens its own file until it expires; another id, another key, a changed expiry or junk do not")
    func checks() {
        let url = signer.url(for: "med_01KB0000000000000000000000", now: now)
        #expect(url.hasPrefix("https://gw.example/media/med_01KB0000000000000000000000?expires=1800000600&signature="))
        let (id, expires, signature) = parts(url)
        #expect(signer.check(id: id, expires: expires, signature: signature, now: now) == nil)
        #expect(signer.check(id: id, expires: expires, signature: signature?.uppercased(), now: now) == nil)
        #expect(signer.check(id: id, expires: expires, signature: signature, now: now.addingTimeInterval(601)) == .expired)
        #expect(signer.check(id: "med_01KB0000000000000000000001", expires: expires, signature: signature, now: now) == .badSignature)
        #expect(signer.check(id: id, expires: "1900000000", signature: signature, now: now) == .badSignature)
        let other = MediaURLSigner(secret: "another-key", publicURL: "https://gw.example", lifetime: 600)
        #expect(other.check(id: id, expires: expires, signature: signature, now: now) == .badSignature)
        for junk in [(nil, signature), (expires, nil), ("soon", signature), ("99999999999999999999", signature), (expires, "abc")] {
            #expect(signer.check(id: id, expires: junk.0, signature: junk.1, now: now) == .malformed)
        }
    }
}

/// Inbound media fetched into the gateway, against the simulator playing the providers' media
/// hosts: Twilio's Media resource (credentials, then a redirect) and Meta's expiring CDN links.
@Suite("Media: inbound copies")
struct InboundMediaTests {
    func attachments(_ env: TestEnvironment, _ messageId: String) async throws -> [Content.Attachment] {
        try #require(try await env.gateway.store.message(id: messageId)).content.attachments
    }

    func inboundId(_ env: TestEnvironment) async throws -> String {
        let contact = try await env.firstContact()
        return try #require(try await env.gateway.store.messages(contactId: contact.id, limit: 10, before: nil).items
            .first { $0.direction == .inbound }).id
    }

    @Test("an MMS picture is fetched with the account's credentials through Twilio's redirect, kept, and served by the gateway")
    func twilioMedia() async throws {
        try await TestEnvironment.with(configure: { $0.bot.kind = .none }) { env in
            let mediaURL = env.simulatorURL + "/2010-04-01/Accounts/\(TestEnvironment.accountSid)/Messages/MM1/Media/ME1"
            _ = try await env.sender.sendSMS(from: "+15550109001", text: "my bike", mediaURLs: [(url: mediaURL, mimeType: "image/png")])
            let id = try await inboundId(env)
            try await eventually("the picture is kept") { try await attachments(env, id).first?.fetch == .stored }
            let attachment = try #require(try await attachments(env, id).first)
            #expect(attachment.providerUrl == mediaURL)
            #expect(attachment.url.hasPrefix(TestEnvironment.publicURL + "/media/med_"))
            let mediaId = try #require(attachment.mediaId)
            let copy = try await env.api("GET", "/api/v1/media/\(mediaId)")
            let original = try await env.client.execute(HTTPClientRequest(url: env.simulatorURL + "/_simulator/media/ME1.png"))
            #expect(copy.status == 200 && copy.header("Content-Type") == "image/png" && copy.body == original.body)
            // The Media resource was asked with the account's credentials (it answers 401 without).
            #expect(await env.providerRequests().contains { $0.provider == "twilio" && $0.path.hasSuffix("/Media/ME1") && $0.responseStatus == 302 })
            // The stream tells consoles; the API shows the copy.
            let message = try await env.api("GET", "/api/v1/messages/\(id)").json()
            let shown = try #require(((message["content"] as? [String: Any])?["attachments"] as? [[String: Any]])?.first)
            #expect(shown["fetch"] as? String == "stored" && shown["providerUrl"] as? String == mediaURL)
        }
    }

    @Test("a Messenger CDN link is copied before it expires; one already expired is marked failed and keeps its link")
    func messengerExpiry() async throws {
        try await TestEnvironment.with(configure: { $0.bot.kind = .none }) { env in
            // Long enough for the fetch on a loaded machine (CI runs every suite at once), short
            // enough to watch the link expire afterwards.
            let expires = String(Int64(Date().timeIntervalSince1970) + 20, radix: 16)
            let fresh = env.simulatorURL + "/_simulator/media/scontent.png?oe=\(expires)"
            let expired = env.simulatorURL + "/_simulator/media/old.png?oe=\(String(Int64(Date().timeIntervalSince1970) - 60, radix: 16))"
            let event: [String: Any] = [
                "sender": ["id": "PSID-M"], "recipient": ["id": TestEnvironment.pageId],
                "timestamp": Date().timeIntervalSince1970 * 1000,
                "message": ["mid": "m_media1", "attachments": [
                    ["type": "image", "payload": ["url": fresh]], ["type": "image", "payload": ["url": expired]],
                ]],
            ]
            #expect(try await env.sender.postMessenger(events: [event]).status == 200)
            let id = try await inboundId(env)
            try await eventually("both fetches ended") { try await attachments(env, id).allSatisfy { $0.fetch != .pending } }
            let (kept, lost) = (try await attachments(env, id)[0], try await attachments(env, id)[1])
            #expect(kept.fetch == .stored && kept.providerUrl == fresh)
            #expect(lost.fetch == .failed && lost.url == expired && lost.fetchError?.contains("403") == true)
            // Once Meta's link has expired, the gateway's copy still serves the picture.
            try await eventually("the CDN link expires", seconds: 40) {
                try await env.client.execute(HTTPClientRequest(url: fresh)).status == 403
            }
            let copy = try await env.api("GET", "/api/v1/media/\(try #require(kept.mediaId))")
            #expect(copy.status == 200 && copy.body.starts(with: [0x89, 0x50, 0x4E, 0x47]))
        }
    }

    @Test("a media URL on a host the provider does not serve media from is not fetched")
    func foreignHost() async throws {
        try await TestEnvironment.with(configure: { $0.bot.kind = .none }) { env in
            _ = try await env.sender.sendSMS(
                from: "+15550109002", text: "x", mediaURLs: [(url: "https://attacker.example/internal.png", mimeType: "image/png")])
            let id = try await inboundId(env)
            try await eventually("the fetch ended") { try await attachments(env, id).first?.fetch == .failed }
            #expect(try await attachments(env, id).first?.fetchError == "attacker.example is not a host sms media comes from")
        }
    }
}
