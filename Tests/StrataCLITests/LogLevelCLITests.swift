import Foundation
import StrataTestSupport
import XCTest

/// `--log-level` and `$STRATA_LOG_LEVEL`: swift-log lines on stderr, quiet by default.
final class LogLevelCLITests: XCTestCase {
    func testLogLevelShowsThePlanOnStderr() throws {
        let db = try RunCLITests.loadEvents("cli_log_level")
        let query = RunCLITests.root.appendingPathComponent("queries/events-by-kind.json").path
        struct Runner {
            func strata(_ args: [String], db: String, environment: [String: String] = [:]) throws -> StrataRunner.Result {
                try StrataRunner.run(args + ["--uri", TestServer.uri(), "--db", db, "--schemas", RunCLITests.root.appendingPathComponent("schemas").path],
                                     in: RunCLITests.root, environment: environment)
            }
        }
        let run = Runner()

        let quiet = try run.strata(["run", query], db: db)
        XCTAssertEqual(quiet.status, 0, quiet.stderr)
        XCTAssertFalse(quiet.stderr.contains("query planned"), "quiet by default: \(quiet.stderr)")

        let debug = try run.strata(["run", query, "--log-level", "debug"], db: db)
        XCTAssertEqual(debug.status, 0, debug.stderr)
        XCTAssertEqual(debug.stdout, quiet.stdout, "the answer is unchanged")
        let line = try XCTUnwrap(debug.stderr.split(separator: "\n").first(where: { $0.contains("query planned") }), debug.stderr)
        XCTAssertTrue(line.contains("debug") && line.contains("collection=events") && line.contains("strategy=") && line.contains("branches="), String(line))

        let env = try run.strata(["run", query], db: db, environment: ["STRATA_LOG_LEVEL": "DEBUG"])
        XCTAssertTrue(env.stderr.contains("query planned"), env.stderr)
        let info = try run.strata(["run", query, "--log-level", "info"], db: db, environment: ["STRATA_LOG_LEVEL": "debug"])
        XCTAssertFalse(info.stderr.contains("query planned"), "--log-level wins over the environment: \(info.stderr)")

        let bad = try run.strata(["run", query, "--log-level", "loud"], db: db)
        XCTAssertEqual(bad.status, 2)
        XCTAssertTrue(bad.stderr.contains("--log-level must be one of trace, debug, info"), bad.stderr)
        let badEnv = try run.strata(["run", query], db: db, environment: ["STRATA_LOG_LEVEL": "loud"])
        XCTAssertEqual(badEnv.status, 2)
        XCTAssertTrue(badEnv.stderr.contains("$STRATA_LOG_LEVEL"), badEnv.stderr)
    }
}
