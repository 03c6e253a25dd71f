import ArgumentParser
import Foundation
import Logging
import Strata
import Synchronization

/// `--log-level` (else `$STRATA_LOG_LEVEL`, else `error`): swift-log lines to stderr.
/// Part of `ConnectionOptions`, so every command that talks to a server has it.
/// strata logs nothing at `error` today, so the default leaves the output as it was;
/// `info` shows runs starting and finishing and restarts, `debug` the plan of each query,
/// each migrator batch and each write-back.
enum CLILogging {
    private static let bootstrapped = Mutex<Logger.Level?>(nil)

    static func parse(_ text: String, what: String) throws -> Logger.Level {
        guard let level = Logger.Level(rawValue: text.lowercased()) else {
            throw ValidationError("\(what) must be one of \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", ")), not '\(text)'")
        }
        return level
    }

    /// Sends swift-log's output to stderr at `level` (once per process).
    static func bootstrap(_ level: Logger.Level) {
        bootstrapped.withLock { current in
            guard current == nil else { return }
            LoggingSystem.bootstrap { label in
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = level
                return handler
            }
            current = level
        }
    }

    /// The CLI's logger (after `bootstrap`).
    static var logger: Logger {
        var logger = Logger(label: "strata")
        if let level = bootstrapped.withLock({ $0 }) { logger.logLevel = level }
        return logger
    }

    /// What the library parts are given.
    static var telemetry: Telemetry { Telemetry(logger: logger) }
}
