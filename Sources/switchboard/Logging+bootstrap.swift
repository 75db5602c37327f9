import Foundation
import Logging

enum LogSetup {
    /// Logs to standard error at `LOG_LEVEL` (default info).
    static func bootstrap() {
        let level = ProcessInfo.processInfo.environment["LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }
}

enum Console {
    /// Writes a line to standard output at once (no buffering), so wrappers see it immediately.
    static func print(_ text: String) {
        FileHandle.standardOutput.write(Data((text + "\n").utf8))
    }
}
