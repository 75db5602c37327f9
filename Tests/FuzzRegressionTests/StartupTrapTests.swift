import Foundation
import SwitchboardServer
import Testing

/// Values a configuration file can hold that used to pass validation and then trap at startup.
@Suite("Configuration values that would trap at startup")
struct StartupTrapTests {
    @Test("a poll interval beyond what the worker can sleep is refused, naming the key", arguments: [1e300, 1e11, -1, 0])
    func pollInterval(_ seconds: Double) throws {
        // The outbox worker sleeps `UInt64(seconds * 1e9)` nanoseconds: 1e11 s already overflows.
        let json = #"{"outbox": {"pollIntervalSeconds": \#(seconds)}}"#
        let configuration = try GatewayConfiguration.decode(Data(json.utf8), file: "test.json")
        let error = #expect(throws: ConfigurationError.self) { try configuration.validate() }
        #expect(error?.problems == ["outbox.pollIntervalSeconds: must be above 0 and at most 3600"])
    }
}
