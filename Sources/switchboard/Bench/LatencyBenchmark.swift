import ArgumentParser
import CurlHTTPClient
import Foundation
import Synchronization
import SwitchboardServer
import SwitchboardSimulator

/// Signed Twilio webhooks at a fixed rate with the echo bot on: the time from a webhook's scheduled
/// send to its reply's arrival at the fake Twilio API (an open loop: a slow gateway shows as latency,
/// not as a lower send rate), and how far the replies fall behind.
struct LatencyBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "latency", abstract: "Webhook to provider call, end to end, at a fixed rate (echo bot).")

    @OptionGroup var options: BenchOptions

    @Option(help: "Webhooks per second.")
    var rate: Int = 1000

    @Option(help: "Seconds measured (after one second of warm-up).")
    var duration: Double = 10

    @Option(help: "Distinct phones writing (each a contact).")
    var contacts: Int = 5000

    func run() async throws {
        let configuration = try GatewayConfiguration.load(path: options.config, environment: [:])
        let accounts = configuration.providerAccounts
        let client = CurlHTTPClient()
        defer { client.shutdown() }
        let simulator = try await BenchSimulator.start(port: options.simulatorPort, accounts: accounts)
        let database = try await BenchDatabase(options, name: "latency")
        let gateway = try await GatewayProcess(
            binary: options.binary, config: options.config, port: options.gatewayPort, database: database.setting,
            environment: simulator.gatewayEnvironment(bot: "echo"),
            log: options.work + "/latency-gateway.log", client: client)
        defer { gateway.stop() }
        let sender = InboundWebhookSender(gatewayURL: gateway.url, publicURL: gateway.url, accounts: accounts, client: client)

        let warmup = rate
        let total = warmup + Int(Double(rate) * duration)
        let start = Date().timeIntervalSince1970 + 0.2
        let scheduled = { (index: Int) in start + Double(index) / Double(rate) }
        let refused = Tally()
        let issued = Tally()
        let contacts = self.contacts

        // Arrivals, sampled as they come: the reply to webhook N says "You said: bench N".
        let arrivals = Arrivals()
        let sampling = Task {
            var next = 0
            var maxBehind = 0
            while !Task.isCancelled {
                let (items, after) = await simulator.acceptedMessages(since: next)
                next = after
                arrivals.seen.withLock { seen in
                    for item in items {
                        if let body = item.formValue("Body"), let number = Int(body.dropFirst("You said: bench ".count)) {
                            seen[number] = item.receivedAt.timeIntervalSince1970
                        }
                    }
                }
                let behind = issued.count - arrivals.seen.withLock { $0.count }
                maxBehind = max(maxBehind, behind)
                try? await Task.sleep(nanoseconds: 50_000_000)
            }
            return maxBehind
        }

        await withTaskGroup(of: Void.self) { group in
            var index = 0
            while index < total {
                let now = Date().timeIntervalSince1970
                while index < total, scheduled(index) <= now {
                    let number = index
                    issued.add()
                    group.addTask {
                        let phone = "+1556" + String(format: "%07d", number % contacts)
                        let delivery = try? await sender.sendSMS(from: phone, text: "bench \(number)")
                        if delivery?.status != 200 { refused.add() }
                    }
                    index += 1
                }
                try? await Task.sleep(nanoseconds: 200_000)
            }
        }
        let sendEnd = Date().timeIntervalSince1970
        let deadline = Date().addingTimeInterval(20)
        while arrivals.seen.withLock({ $0.count }) < total - refused.count, Date() < deadline {
            try await Task.sleep(nanoseconds: 50_000_000)
        }
        sampling.cancel()
        let maxBehind = await sampling.value
        let seen = arrivals.seen.withLock { $0 }
        let latencies = (warmup..<total).compactMap { index in seen[index].map { $0 - scheduled(index) } }
        let measuredSends = Double(total - warmup) / (sendEnd - scheduled(warmup))
        await simulator.stop()
        print(String(format: "RESULT latency rate=%.0f webhooks=%d replies=%d refused=%d %@ max_behind=%d rss_mib=%.1f",
                     measuredSends, total - warmup, latencies.count, refused.count,
                     Percentiles(latencies).milliseconds, maxBehind, Double(gateway.rssKiB) / 1024))
    }
}

/// A count shared by tasks.
final class Tally: Sendable {
    private let value = Atomic<Int>(0)
    func add() { value.add(1, ordering: .relaxed) }
    var count: Int { value.load(ordering: .relaxed) }
}

/// Reply arrival times by webhook number.
final class Arrivals: Sendable {
    let seen = Mutex<[Int: Double]>([:])
}
