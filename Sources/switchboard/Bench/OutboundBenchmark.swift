import ArgumentParser
import CurlHTTPClient
import Foundation
import SwitchboardCore
import SwitchboardServer
import SwitchboardSimulator
import SwitchboardStorage

/// The outbound relay alone: agent messages already in the outbox (queued with the store's own
/// `enqueueOutbound`, as the API does) drained by a freshly started gateway through libcurl to the
/// simulator's fake provider APIs. Reports messages/s from the first provider call to the last,
/// the TCP connections the gateway opened (reuse), and its CPU.
struct OutboundBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "outbound", abstract: "Drain a full outbox through libcurl to the simulator.")

    @OptionGroup var options: BenchOptions

    @Option(help: "Queued messages.")
    var messages: Int = 100_000

    @Option(help: "Contacts they go to.")
    var contacts: Int = 1000

    @Option(help: "Channels, comma-separated (sms, messenger, rcs): contacts are spread over them.")
    var channels: String = "sms"

    @Option(help: "Gateway processes draining the one outbox (several need --postgres).")
    var instances: Int = 1

    func run() async throws {
        let configuration = try GatewayConfiguration.load(path: options.config, environment: [:])
        let channelList = channels.split(separator: ",").compactMap { SwitchboardCore.Channel(rawValue: String($0)) }
        guard !channelList.isEmpty else { throw ValidationError("--channels: sms, messenger and/or rcs") }
        guard instances == 1 || options.postgres != nil else { throw ValidationError("--instances above 1 needs --postgres") }
        let database = try await BenchDatabase(options, name: "outbound-\(channelList.map(\.rawValue).joined(separator: "-"))-\(instances)")

        // Queue everything before the gateway starts.
        let seedStart = monotonicSeconds()
        do {
            let store = try await database.open()
            defer { Task { await store.close() } }
            let contactCount = contacts
            let recipients = try await withThrowingTaskGroup(of: (Int, String, String).self) { group in
                for index in 0..<contactCount {
                    group.addTask {
                        let channel = channelList[index % channelList.count]
                        let address = channel == .messenger ? "8" + String(format: "%015d", index) : "+1557" + String(format: "%07d", index)
                        let result = try await store.ingest(
                            InboundMessage(channel: channel, senderAddress: address, providerMessageId: "seed-\(index)", content: Content(text: "hi")),
                            at: Date(), bot: nil, policy: InboundPolicy())
                        guard case .stored(let message, _, _) = result else { throw BenchError("seed contact \(index) not stored") }
                        return (index, message.contactId, address)
                    }
                }
                var all = [(String, String)](repeating: ("", ""), count: contactCount)
                for try await (index, contactId, address) in group { all[index] = (contactId, address) }
                return all
            }
            try await concurrently(messages, width: 128) { index in
                let (contactId, address) = recipients[index % contactCount]
                _ = try await store.enqueueOutbound(
                    contactId: contactId, channel: channelList[(index % contactCount) % channelList.count], recipient: address,
                    content: Content(text: "agent message \(index)"), author: .init(kind: .agent, name: "bench"), at: Date())
            }
        }
        let seedSeconds = monotonicSeconds() - seedStart

        let client = CurlHTTPClient()
        defer { client.shutdown() }
        let simulator = try await BenchSimulator.start(port: options.simulatorPort, accounts: configuration.providerAccounts)
        let started = Date().timeIntervalSince1970
        var gateways: [GatewayProcess] = []
        defer { for gateway in gateways { gateway.stop() } }
        for index in 0..<max(1, instances) {
            gateways.append(try await GatewayProcess(
                binary: options.binary, config: options.config, port: options.gatewayPort + index, database: database.setting,
                environment: simulator.gatewayEnvironment(bot: "none"),
                log: options.work + "/outbound-gateway-\(index).log", client: client))
        }
        var next = 0
        var delivered = 0
        var first: Double?
        var last = started
        let deadline = Date().addingTimeInterval(180)
        while delivered < messages, Date() < deadline {
            let (items, after) = await simulator.acceptedMessages(since: next)
            next = after
            delivered += items.count
            if first == nil, let earliest = items.first { first = earliest.receivedAt.timeIntervalSince1970 }
            if let latest = items.last { last = latest.receivedAt.timeIntervalSince1970 }
            try await Task.sleep(nanoseconds: 20_000_000)
        }
        let cpu = gateways.reduce(0) { $0 + $1.cpuSeconds }
        let wall = Date().timeIntervalSince1970 - started
        let connections = await simulator.simulator.connections.count()
        let seconds = last - (first ?? started)
        await simulator.stop()
        let rss = gateways.reduce(0) { $0 + $1.rssKiB }
        print(String(format: "RESULT outbound channels=%@ instances=%d messages=%d delivered=%d seconds=%.2f rate=%.0f connections=%d cpu_cores=%.2f seed_seconds=%.1f rss_mib=%.1f",
                     channelList.map(\.rawValue).joined(separator: "+"), gateways.count, messages, delivered, seconds,
                     Double(delivered) / max(seconds, 0.001), connections, cpu / wall, seedSeconds, Double(rss) / 1024))
    }
}
