import Foundation
import StrataMongo
import StrataTestFixtures

/// The server the tests run against. `make test` starts one and passes its URI
/// in `STRATA_TEST_URI`; a bare `swift test` starts its own (from `.venv`,
/// made by `make venv`) and stops it when the test process exits. A test never
/// skips for want of a server: without one it fails, saying why.
public enum TestServer {
    public static let repositoryRoot: URL = FixturePaths.repositoryRoot

    private static let started: Result<String, Error> = Result {
        if let uri = ProcessInfo.processInfo.environment["STRATA_TEST_URI"], !uri.isEmpty { return uri }
        let name = "swifttest-\(getpid())"
        try runScript(["start", name, "--memory"])
        atexit { try? TestServer.runScriptStatic(["stop", "swifttest-\(getpid())"]) }
        let uriFile = repositoryRoot.appendingPathComponent(".server/\(name)/uri")
        return try String(contentsOf: uriFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The URI of the test server (started on first use).
    public static func uri() throws -> String { try started.get() }

    /// The process-wide pool on the test server.
    public static func pool() throws -> MongoPool { try MongoPool.shared(uri: uri()) }

    /// A freshly dropped database named `strata_test_<name>`.
    public static func freshDatabase(_ name: String) throws -> MongoDatabase {
        let db = MongoDatabase(pool: try pool(), name: "strata_test_" + name)
        try db.drop()
        return db
    }

    static func runScriptStatic(_ args: [String]) throws { try runScript(args) }

    /// Runs scripts/server.sh with its output going to the test log: the
    /// server it starts keeps running, so nothing may wait for a pipe's EOF.
    private static func runScript(_ args: [String]) throws {
        let p = Process()
        p.executableURL = repositoryRoot.appendingPathComponent("scripts/server.sh")
        p.arguments = args
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            throw TestSupportError("could not start the embedded test server (scripts/server.sh \(args.joined(separator: " "))):"
                + " see its message above; run `make venv` first, or set STRATA_TEST_URI")
        }
    }
}
