import CurlHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Logging
import ServiceLifecycle
import Synchronization
import Testing

/// The libcurl client against a real Hummingbird server on loopback.
@Suite("libcurl HTTP client")
struct CurlHTTPClientTests {
    /// Runs a small server (echo, slow, large, status) and the client, then stops both.
    func withServer(_ body: @Sendable (String, CurlHTTPClient) async throws -> Void) async throws {
        let router = Router()
        router.post("echo") { request, _ -> Response in
            var request = request
            let buffer = try await request.collectBody(upTo: 1 << 20)
            var headers = HTTPFields()
            headers[.contentType] = request.headers[.contentType] ?? "none"
            headers[HTTPField.Name("X-Method")!] = request.method.rawValue
            headers[HTTPField.Name("X-Test")!] = request.headers[HTTPField.Name("X-Test")!] ?? "none"
            return Response(status: .created, headers: headers, body: .init(byteBuffer: buffer))
        }
        router.get("slow") { _, _ -> String in
            try await Task.sleep(nanoseconds: 800_000_000)
            return "late"
        }
        router.get("large") { _, _ -> String in String(repeating: "x", count: 200_000) }
        router.get("status/:code") { _, context -> Response in
            Response(status: .init(code: Int(context.parameters.get("code") ?? "500") ?? 500))
        }
        let port = Mutex<Int?>(nil)
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in port.withLock { $0 = channel.localAddress?.port } })
        // Stopped gracefully, so handlers still sleeping in /slow finish before the server goes.
        let serviceGroup = ServiceGroup(configuration: .init(services: [app], logger: Logger(label: "test")))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await serviceGroup.run() }
            var bound: Int?
            for _ in 0..<500 where bound == nil {
                try await Task.sleep(nanoseconds: 10_000_000)
                bound = port.withLock { $0 }
            }
            let client = CurlHTTPClient(configuration: .init(maxConnectionsPerHost: 8, maxResponseBytes: 100_000))
            defer { client.shutdown() }
            let outcome: Result<Void, any Error>
            do {
                try await body("http://127.0.0.1:\(try #require(bound))", client)
                outcome = .success(())
            } catch {
                outcome = .failure(error)
            }
            await serviceGroup.triggerGracefulShutdown()
            try await group.waitForAll()
            try outcome.get()
        }
    }

    @Test("POST sends method, headers and body; the response carries status, headers and body")
    func roundTrip() async throws {
        try await withServer { base, client in
            let response = try await client.execute(HTTPClientRequest(
                method: "POST", url: base + "/echo",
                headers: [(name: "Content-Type", value: "application/json"), (name: "X-Test", value: "yes")],
                body: Array(#"{"a":1}"#.utf8)))
            #expect(response.status == 201)
            #expect(String(decoding: response.body, as: UTF8.self) == #"{"a":1}"#)
            #expect(response.header("content-type") == "application/json")
            #expect(response.header("X-Method") == "POST")
            #expect(response.header("X-Test") == "yes")
            let put = try await client.execute(HTTPClientRequest(method: "PUT", url: base + "/echo", body: Array("x".utf8)))
            #expect(put.status == 404 || put.status == 405)
            let missing = try await client.execute(HTTPClientRequest(url: base + "/status/503"))
            #expect(missing.status == 503)
        }
    }

    @Test("many concurrent requests reuse a few connections")
    func connectionReuse() async throws {
        try await withServer { base, client in
            try await withThrowingTaskGroup(of: Int.self) { group in
                for index in 0..<400 {
                    group.addTask {
                        let response = try await client.execute(HTTPClientRequest(method: "POST", url: base + "/echo", body: Array("\(index)".utf8)))
                        #expect(String(decoding: response.body, as: UTF8.self) == "\(index)")
                        return response.status
                    }
                }
                for try await status in group { #expect(status == 201) }
            }
            #expect(client.connectionsOpened <= 8)
        }
    }

    @Test("timeouts, refused connections, oversized bodies and bad URLs are typed errors")
    func errors() async throws {
        try await withServer { base, client in
            await #expect(throws: HTTPClientError.self) {
                try await client.execute(HTTPClientRequest(url: base + "/slow", timeoutMilliseconds: 200))
            }
            do throws(HTTPClientError) {
                _ = try await client.execute(HTTPClientRequest(url: base + "/slow", timeoutMilliseconds: 200))
            } catch {
                #expect(error.kind == .timeout)
                #expect(error.isTransient)
            }
            do throws(HTTPClientError) {
                _ = try await client.execute(HTTPClientRequest(url: "http://127.0.0.1:1/nothing"))
                Issue.record("expected a connection error")
            } catch {
                #expect(error.kind == .connectFailed)
            }
            do throws(HTTPClientError) {
                _ = try await client.execute(HTTPClientRequest(url: base + "/large"))
                Issue.record("expected responseTooLarge")
            } catch {
                #expect(error.kind == .responseTooLarge)
                #expect(!error.isTransient)
            }
            do throws(HTTPClientError) {
                _ = try await client.execute(HTTPClientRequest(url: "file:///etc/passwd"))
                Issue.record("expected invalidRequest")
            } catch {
                #expect(error.kind == .invalidRequest)
            }
        }
    }

    @Test("a timeout while waiting for the answer may have reached the server; a refused connection never did")
    func whetherTheRequestLeft() async throws {
        try await withServer { base, client in
            do throws(HTTPClientError) {
                _ = try await client.execute(HTTPClientRequest(url: base + "/slow", timeoutMilliseconds: 200))
                Issue.record("expected a timeout")
            } catch {
                #expect(error.kind == .timeout)
                #expect(error.requestMayHaveBeenSent)
            }
            do throws(HTTPClientError) {
                _ = try await client.execute(HTTPClientRequest(method: "POST", url: "http://127.0.0.1:1/nothing", body: Array("x".utf8)))
                Issue.record("expected a connection error")
            } catch {
                #expect(error.kind == .connectFailed)
                #expect(!error.requestMayHaveBeenSent)
            }
            do throws(HTTPClientError) {
                _ = try await client.execute(HTTPClientRequest(url: "http://nonexistent.invalid/"))
                Issue.record("expected a resolve error")
            } catch {
                #expect(error.kind == .resolveFailed || error.kind == .connectFailed)
                #expect(!error.requestMayHaveBeenSent)
            }
        }
    }

    @Test("a cancelled request ends promptly with .cancelled")
    func cancellation() async throws {
        try await withServer { base, client in
            let task = Task { try await client.execute(HTTPClientRequest(url: base + "/slow", timeoutMilliseconds: 10_000)) }
            try await Task.sleep(nanoseconds: 100_000_000)
            task.cancel()
            do {
                _ = try await task.value
                Issue.record("expected cancellation")
            } catch {
                #expect((error as? HTTPClientError)?.kind == .cancelled)
            }
        }
    }
}
