import CurlHTTPClient
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A gateway started as its own process for a benchmark, with its resource use read from /proc.
final class GatewayProcess {
    let process: Process
    let url: String
    let client: CurlHTTPClient

    /// Starts `binary serve --config CONFIG` with `environment` added, and waits for `/healthz`.
    /// `database` is a `SWITCHBOARD_DATABASE` value (`sqlite:PATH` or a postgres:// URL).
    init(binary: String, config: String, port: Int, database: String, environment: [String: String], log: String,
         client: CurlHTTPClient) async throws {
        process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["serve", "--config", config]
        var env = ProcessInfo.processInfo.environment
        env["SWITCHBOARD_PORT"] = String(port)
        env["SWITCHBOARD_DATABASE"] = database
        env["SWITCHBOARD_API_TOKEN"] = "bench"
        env["LOG_LEVEL"] = env["LOG_LEVEL"] ?? "warning"
        for (key, value) in environment { env[key] = value }
        process.environment = env
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        process.standardOutput = handle
        process.standardError = handle
        url = "http://127.0.0.1:\(port)"
        self.client = client
        try process.run()
        for _ in 0..<300 {
            if (try? await client.execute(HTTPClientRequest(method: "GET", url: url + "/healthz")))?.status == 200 { return }
            guard process.isRunning else { break }
            try await Task.sleep(nanoseconds: 50_000_000)
        }
        throw BenchError("the gateway did not start; see \(log)")
    }

    /// Resident memory, KiB (VmRSS).
    var rssKiB: Int {
        let status = (try? String(contentsOfFile: "/proc/\(process.processIdentifier)/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") }
        return line.flatMap { Int($0.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") } ?? 0
    }

    /// CPU time used so far (user + system), seconds.
    var cpuSeconds: Double {
        let stat = (try? String(contentsOfFile: "/proc/\(process.processIdentifier)/stat", encoding: .utf8)) ?? ""
        // Fields after the command name (which may hold spaces) start at ")"; utime and stime are 14 and 15.
        guard let close = stat.lastIndex(of: ")") else { return 0 }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// A GET on the API, timed.
    func timedGet(_ path: String) async throws -> (status: Int, seconds: Double, body: [UInt8]) {
        try await timed("GET", path)
    }

    /// A request on the API (a JSON body when given), timed from before it is sent to the last
    /// byte of the answer.
    func timed(_ method: String, _ path: String, json: String? = nil) async throws -> (status: Int, seconds: Double, body: [UInt8]) {
        var headers = [(name: "Authorization", value: "Bearer bench")]
        if json != nil { headers.append((name: "Content-Type", value: "application/json")) }
        let start = DispatchTime.now().uptimeNanoseconds
        let response = try await client.execute(HTTPClientRequest(
            method: method, url: url + path, headers: headers, body: Array((json ?? "").utf8), timeoutMilliseconds: 60_000))
        return (response.status, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9, response.body)
    }

    func stop() {
        guard process.isRunning else { return }
        process.terminate()
        process.waitUntilExit()
    }

    deinit { stop() }
}

struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Seconds since an arbitrary start, monotonic.
func monotonicSeconds() -> Double {
    Double(DispatchTime.now().uptimeNanoseconds) / 1e9
}
