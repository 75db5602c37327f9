import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The web console and the web-chat widget: plain HTML, CSS and ES modules shipped as resources of
/// this target (`Sources/SwitchboardServer/Web`), read once at startup and served from memory.
///
/// SwiftPM copies the folder next to the executable as `switchboard_SwitchboardServer.resources`;
/// `SWITCHBOARD_WEB_ROOT` points elsewhere (a deployment that moved the binary), and a build run
/// from the repository also finds the sources themselves.
public struct WebAssets: Sendable {
    /// One file, ready to send.
    public struct Asset: Sendable {
        public var body: ByteBuffer
        public var contentType: String
        public var etag: String
    }

    /// Keyed by the path below the web root, e.g. `console/console.js`.
    public let assets: [String: Asset]
    /// Where the files were read from (nil: none found).
    public let root: URL?
    /// Where the pages may load images from besides the gateway: `https:` (providers host media
    /// there), and the origins of plain-http provider APIs the operator configured (the simulator's,
    /// whose media the development console shows). Never any `http:` host.
    public var imageSources: [String] = ["https:"]

    public init(root: URL?) {
        self.root = root
        guard let root else {
            self.assets = [:]
            return
        }
        var assets: [String: Asset] = [:]
        let files = FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.isRegularFileKey])
        while let url = files?.nextObject() as? URL {
            guard (try? url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true,
                  let data = try? Data(contentsOf: url) else { continue }
            let relative = url.standardizedFileURL.path.dropFirst(root.standardizedFileURL.path.count).trimmingCharacters(in: ["/"])
            var hash = FNV1a()
            for byte in data { hash.combine(byte) }
            assets[relative] = Asset(
                body: ByteBuffer(bytes: data), contentType: Self.contentType(ofExtension: url.pathExtension),
                etag: "\"\(String(hash.value, radix: 16))\"")
        }
        self.assets = assets
    }

    /// The files of the first web root that exists.
    public static func locate(environment: [String: String] = ProcessInfo.processInfo.environment) -> WebAssets {
        var candidates: [URL] = []
        if let explicit = environment["SWITCHBOARD_WEB_ROOT"] { candidates.append(URL(fileURLWithPath: explicit)) }
        let executableDirectory = URL(fileURLWithPath: CommandLine.arguments.first ?? ".").resolvingSymlinksInPath().deletingLastPathComponent()
        for directory in [executableDirectory, Bundle.main.bundleURL] {
            candidates.append(directory.appendingPathComponent("switchboard_SwitchboardServer.resources/Web"))
        }
        candidates.append(URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Web"))
        let root = candidates.first { FileManager.default.fileExists(atPath: $0.appendingPathComponent("console/index.html").path) }
        return WebAssets(root: root)
    }

    static func contentType(ofExtension ext: String) -> String {
        switch ext.lowercased() {
        case "html": "text/html; charset=utf-8"
        case "css": "text/css; charset=utf-8"
        case "js", "mjs": "text/javascript; charset=utf-8"
        case "svg": "image/svg+xml"
        case "png": "image/png"
        case "json": "application/json"
        case "woff2": "font/woff2"
        default: "application/octet-stream"
        }
    }

    /// The response for one asset: cached by validation (ETag), never from another origin.
    func response(for path: String, request: Request, isPage: Bool) throws -> Response {
        guard let asset = assets[path] else {
            throw GatewayError(
                .serviceUnavailable, code: "console_unavailable",
                message: "the console's files were not found (set SWITCHBOARD_WEB_ROOT to Sources/SwitchboardServer/Web)")
        }
        var headers = HTTPFields()
        headers[.contentType] = asset.contentType
        headers[.eTag] = asset.etag
        headers[.cacheControl] = "no-cache"
        headers[.xContentTypeOptions] = "nosniff"
        if isPage {
            // Everything the pages load comes from the gateway itself; images in messages come from
            // providers' https hosts or the gateway's media (read with the token into blob: URLs),
            // and the widget's socket is on this origin.
            headers[.contentSecurityPolicy] =
                "default-src 'self'; img-src 'self' data: blob: \(imageSources.joined(separator: " ")); connect-src 'self' ws: wss:; frame-ancestors 'self'; base-uri 'none'"
            // HTTPTypes predefines no name for it; a valid token, so the name is never nil.
            if let referrerPolicy = HTTPField.Name("Referrer-Policy") { headers[referrerPolicy] = "no-referrer" }
        }
        if request.headers[.ifNoneMatch] == asset.etag {
            return Response(status: .notModified, headers: headers)
        }
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: asset.body))
    }

    /// `GET /` (the console), `GET /console/...` (its files), `GET /webchat/widget.js`, `GET /webchat/demo`.
    func add(to router: Router<GatewayRequestContext>) {
        router.get("/") { request, _ in try self.response(for: "console/index.html", request: request, isPage: true) }
        router.get("webchat/demo") { request, _ in try self.response(for: "webchat/demo.html", request: request, isPage: true) }
        for path in assets.keys.sorted() where path != "console/index.html" && path != "webchat/demo.html" {
            router.get(RouterPath(path)) { request, _ in try self.response(for: path, request: request, isPage: false) }
        }
    }
}

/// FNV-1a, 64 bits: a stable content hash for ETags (Swift's `Hasher` is seeded per process).
private struct FNV1a {
    var value: UInt64 = 0xcbf2_9ce4_8422_2325
    mutating func combine(_ byte: UInt8) {
        value = (value ^ UInt64(byte)) &* 0x100_0000_01b3
    }
}
