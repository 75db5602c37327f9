import Foundation
import Logging
import ServiceLifecycle
import SwitchboardCore
import SwitchboardSimulator

/// The provider simulator in the benchmark's own process, so arrivals are timed where they happen.
struct BenchSimulator {
    let simulator: Simulator
    let group: ServiceGroup
    let task: Task<Void, any Error>
    let url: String

    static func start(port: Int, accounts: ProviderAccounts) async throws -> BenchSimulator {
        var logger = Logger(label: "switchboard.bench.simulator")
        logger.logLevel = .warning
        let simulator = Simulator(settings: SimulatorSettings(host: "127.0.0.1", port: port, accounts: accounts), logger: logger)
        let group = ServiceGroup(configuration: .init(services: [.init(service: simulator.buildApplication())], logger: logger))
        let task = Task { try await group.run() }
        try await Task.sleep(nanoseconds: 300_000_000)
        return BenchSimulator(simulator: simulator, group: group, task: task, url: "http://127.0.0.1:\(port)")
    }

    /// The gateway's environment for a run: the bot, and every provider's API pointed here.
    func gatewayEnvironment(bot: String) -> [String: String] {
        ["SWITCHBOARD_BOT": bot, "TWILIO_API_BASE_URL": url, "MESSENGER_API_BASE_URL": url, "RBM_API_BASE_URL": url]
    }

    /// Provider calls that carried a message and were accepted, from `index` on.
    func acceptedMessages(since index: Int) async -> (items: [RecordedRequest], next: Int) {
        let slice = await simulator.recorder.since(index)
        let items = slice.filter { $0.method == "POST" && (200...299).contains($0.responseStatus) }
        return (items, index + slice.count)
    }

    func stop() async {
        await group.triggerGracefulShutdown()
        _ = try? await task.value
    }
}

/// Runs `count` jobs with at most `width` in flight.
func concurrently(_ count: Int, width: Int, _ job: @escaping @Sendable (Int) async throws -> Void) async throws {
    try await withThrowingTaskGroup(of: Void.self) { group in
        var next = 0
        while next < min(width, count) {
            let index = next
            group.addTask { try await job(index) }
            next += 1
        }
        while try await group.next() != nil {
            if next < count {
                let index = next
                group.addTask { try await job(index) }
                next += 1
            }
        }
    }
}
