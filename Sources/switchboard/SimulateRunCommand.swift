import ArgumentParser
import CurlHTTPClient
import Foundation
import Logging
import ServiceLifecycle
import SwitchboardServer
import SwitchboardSimulator

/// `switchboard simulate run FILE… --gateway URL`: plays scenario files against a running gateway
/// and exits non-zero, with a diff, when the gateway's answers differ.
struct SimulateRunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Play scenario files (Config/scenarios/*.json) against a running gateway and check every answer.",
        discussion: """
            Uses the provider simulator the gateway sends to (--simulator, default simulator.host:port of the \
            configuration); when none answers there, starts one in process for the run. Exits 1 when a step fails.
            """)

    @OptionGroup var options: ConfigurationOptions

    @Argument(help: "Scenario files.")
    var files: [String]

    @Option(help: "The gateway's address (default: http://HOST:PORT from the configuration).")
    var gateway: String?

    @Option(help: "The gateway's public URL, which Twilio signatures cover (default: its configured public URL, else --gateway).")
    var publicURL: String?

    @Option(help: "The provider simulator the gateway sends to (default: http://simulator.host:simulator.port from the configuration).")
    var simulator: String?

    func run() async throws {
        LogSetup.bootstrap()
        let configuration = try loadSimulatorConfiguration(options)
        let scenarios: [Scenario]
        do {
            scenarios = try files.map { try Scenario.load(path: $0) }
        } catch let error as ScenarioError {
            throw ValidationError(error.message)
        }
        let gatewayURL = gateway ?? "http://\(configuration.host):\(configuration.port)"
        let simulatorURL = simulator ?? "http://\(configuration.simulator.host):\(configuration.simulator.port)"
        let client = CurlHTTPClient()
        defer { client.shutdown() }
        guard (try? await client.execute(HTTPClientRequest(method: "GET", url: gatewayURL + "/healthz")))?.status == 200 else {
            throw ValidationError("no gateway answers at \(gatewayURL) (start one with `switchboard serve --dev`, or name it with --gateway)")
        }

        // A simulator of our own when the gateway's is not running (e.g. `switchboard serve` without --dev).
        var ownSimulator: (group: ServiceGroup, task: Task<Void, any Error>)?
        if (try? await client.execute(HTTPClientRequest(method: "GET", url: simulatorURL + "/_simulator/requests")))?.status != 200 {
            guard let url = URL(string: simulatorURL), let host = url.host, let port = url.port else {
                throw ValidationError("--simulator must be http://HOST:PORT")
            }
            let logger = Logger(label: "switchboard.simulator")
            let callbacks = StatusCallbacks(accounts: configuration.providerAccounts, client: client, logger: logger)
            callbacks.connect(gatewayURL: gatewayURL, publicURL: publicURL ?? configuration.publicURL ?? gatewayURL)
            let simulator = Simulator(
                settings: SimulatorSettings(host: host, port: port, accounts: configuration.providerAccounts), callbacks: callbacks, logger: logger)
            let group = ServiceGroup(configuration: .init(services: [.init(service: simulator.buildApplication())], logger: logger))
            let task = Task { try await group.run() }
            ownSimulator = (group, task)
            var ready = false
            for _ in 0..<100 where !ready {
                try await Task.sleep(nanoseconds: 50_000_000)
                ready = (try? await client.execute(HTTPClientRequest(method: "GET", url: simulatorURL + "/_simulator/requests")))?.status == 200
            }
            guard ready else { throw ValidationError("could not start a simulator at \(simulatorURL)") }
            Console.print("(started a provider simulator at \(simulatorURL) for this run)")
        }

        let runner = ScenarioRunner(
            gatewayURL: gatewayURL, publicURL: publicURL ?? configuration.publicURL, simulatorURL: simulatorURL,
            accounts: configuration.providerAccounts, client: client, output: { Console.print($0) })
        var failures = 0
        for scenario in scenarios {
            let outcome: ScenarioRunner.Outcome
            do {
                outcome = try await runner.run(scenario)
            } catch {
                Console.print("scenario \(scenario.name): could not run: \(error)")
                failures += 1
                continue
            }
            if !outcome.succeeded { failures += 1 }
        }
        if let ownSimulator {
            await ownSimulator.group.triggerGracefulShutdown()
            _ = try? await ownSimulator.task.value
        }
        Console.print("\(scenarios.count - failures) of \(scenarios.count) scenarios as expected")
        if failures > 0 { throw ExitCode(1) }
    }
}
