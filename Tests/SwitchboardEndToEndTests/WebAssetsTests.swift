import CurlHTTPClient
import Foundation
import SwitchboardServer
import Testing

/// The console's and the widget's files as the gateway serves them (the browser tests in
/// Tests/Browser drive them in Chromium).
@Suite("Console and widget files")
struct WebAssetsTests {
    @Test("GET / is the console page, with a policy that keeps every request on the gateway")
    func consolePage() async throws {
        try await TestEnvironment.with { env in
            let page = try await env.raw("GET", "/")
            #expect(page.status == 200)
            #expect(page.header("Content-Type") == "text/html; charset=utf-8")
            #expect(page.header("Content-Security-Policy")?.contains("default-src 'self'") == true)
            let html = String(decoding: page.body, as: UTF8.self)
            #expect(html.contains(#"<script type="module" src="/console/console.js">"#))
            // Every file the page names is served, with its type.
            for (path, type) in [("/console/console.js", "text/javascript"), ("/console/api.js", "text/javascript"),
                                 ("/console/console.css", "text/css"), ("/console/icons.svg", "image/svg+xml"),
                                 ("/webchat/widget.js", "text/javascript"), ("/webchat/demo.css", "text/css")] {
                let file = try await env.raw("GET", path)
                #expect(file.status == 200, "\(path)")
                #expect(file.header("Content-Type")?.hasPrefix(type) == true, "\(path)")
            }
            let demo = try await env.raw("GET", "/webchat/demo")
            #expect(String(decoding: demo.body, as: UTF8.self).contains(#"<script src="/webchat/widget.js""#))
        }
    }

    @Test("SWITCHBOARD_WEB_ROOT names where the files are")
    func webRoot() throws {
        let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Sources/SwitchboardServer/Web")
        let assets = WebAssets.locate(environment: ["SWITCHBOARD_WEB_ROOT": source.path])
        #expect(assets.root?.standardizedFileURL.path == source.standardizedFileURL.path)
        #expect(assets.assets["console/index.html"]?.contentType == "text/html; charset=utf-8")
        #expect(assets.assets["webchat/widget.js"] != nil)
        #expect(WebAssets(root: nil).assets.isEmpty)
    }

    @Test("files are revalidated by ETag")
    func etag() async throws {
        try await TestEnvironment.with { env in
            let first = try await env.raw("GET", "/console/console.js")
            let etag = try #require(first.header("ETag"))
            let again = try await env.raw("GET", "/console/console.js", headers: [(name: "If-None-Match", value: etag)])
            #expect(again.status == 304)
            #expect(again.body.isEmpty)
            let missing = try await env.raw("GET", "/console/nothing-here.js")
            #expect(missing.status == 404)
            #expect(String(decoding: missing.body, as: UTF8.self).contains(#""code":"not_found""#))
        }
    }

    @Test("the widget may ask for a session from the website that embeds it (CORS)")
    func cors() async throws {
        try await TestEnvironment.with { env in
            let preflight = try await env.raw("OPTIONS", "/webchat/sessions", headers: [
                (name: "Origin", value: "https://shop.example"), (name: "Access-Control-Request-Method", value: "POST"),
                (name: "Access-Control-Request-Headers", value: "content-type"),
            ])
            #expect(preflight.status == 204)
            #expect(preflight.header("Access-Control-Allow-Origin") == "*")
            #expect(preflight.header("Access-Control-Allow-Headers") == "Content-Type")
            let session = try await env.raw("POST", "/webchat/sessions", headers: [(name: "Origin", value: "https://shop.example")])
            #expect(session.status == 201)
            #expect(session.header("Access-Control-Allow-Origin") == "*")
        }
    }
}
