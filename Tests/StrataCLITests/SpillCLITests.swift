import Foundation
import Strata
import StrataBSON
import StrataEvaluator
import StrataLibBSON
import StrataMongo
import StrataTestSupport
import XCTest

/// `strata run --max-memory / --spill-dir`: the same answer past the budget, spill files
/// gone after success, after an error, after Ctrl-C, and (a crash's) on the next run.
final class SpillCLITests: XCTestCase {
    static let root = TestServer.repositoryRoot

    /// Swift-side work that holds every document: a `$group` per event then a `$sort`
    /// (the server profile that streams full scans runs both in Swift).
    static let pipeline = #"[{"$group": {"_id": "$_id", "doc": {"$first": "$$ROOT"}, "user": {"$first": "$user"}}}, {"$sort": {"user": 1, "_id": 1}}]"#

    func arguments(_ db: String, spillDir: String, maxMemory: String) throws -> [String] {
        ["run", "--pipeline", Self.pipeline, "-c", "events", "--max-memory", maxMemory, "--spill-dir", spillDir,
         "--uri", try TestServer.uri(), "--db", db, "--schemas", Self.root.appendingPathComponent("schemas").path]
    }

    func testATinyBudgetGivesTheSameAnswerAndLeavesNoFiles() throws {
        let db = try RunCLITests.loadEvents("cli_spill")
        let spill = try TempFolder()
        let bounded = try StrataRunner.run(try arguments(db, spillDir: spill.path, maxMemory: "1KB"), in: Self.root,
                                           environment: ["STRATA_LOG_LEVEL": "debug"])
        XCTAssertEqual(bounded.status, 0, bounded.stderr)
        let unbounded = try StrataRunner.run(try arguments(db, spillDir: spill.path, maxMemory: "unlimited"), in: Self.root)
        XCTAssertEqual(unbounded.status, 0, unbounded.stderr)
        XCTAssertEqual(bounded.stdout.split(separator: "\n").count, 800)
        XCTAssertEqual(bounded.stdout, unbounded.stdout, "the spilled sort gives the same documents in the same order")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: spill.path), [])
    }

    func testBadSizesAndFoldersExitTwo() throws {
        let spill = try TempFolder()
        let bad = try StrataRunner.run(try arguments("cli_spill_bad", spillDir: spill.path, maxMemory: "lots"), in: Self.root)
        XCTAssertEqual(bad.status, 2, bad.stderr)
        XCTAssert(bad.stderr.contains("--max-memory takes a size"), bad.stderr)
        let missing = try StrataRunner.run(try arguments("cli_spill_bad", spillDir: spill.path + "/nope", maxMemory: "1MB"), in: Self.root)
        XCTAssertEqual(missing.status, 2, missing.stderr)
        XCTAssert(missing.stderr.contains("--spill-dir: no such directory"), missing.stderr)
    }

    /// A crash's directory (its process is gone) is removed by the next run.
    func testTheNextRunRemovesACrashedRunsFiles() throws {
        let db = try RunCLITests.loadEvents("cli_spill_stale")
        let spill = try TempFolder()
        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/bin/true")
        try child.run()
        child.waitUntilExit()
        let stale = spill.url.appendingPathComponent("\(SpillDirectory.prefix)\(child.processIdentifier)-crashed")
        try FileManager.default.createDirectory(at: stale, withIntermediateDirectories: false)
        try Data(repeating: 1, count: 100).write(to: stale.appendingPathComponent("run-0"))
        let r = try StrataRunner.run(try arguments(db, spillDir: spill.path, maxMemory: "256MB"), in: Self.root)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: spill.path), [])
    }

    /// Ctrl-C while the sort's runs are on disk: the process exits 130 and its spill
    /// directory is gone. The output pipe is not read, so the run blocks writing its answer
    /// with its runs still open — the interrupt always meets them.
    func testCtrlCRemovesTheSpillFiles() throws {
        let db = try RunCLITests.loadEvents("cli_spill_sigint")
        let spill = try TempFolder()
        let p = Process()
        p.executableURL = StrataRunner.binary
        p.arguments = try arguments(db, spillDir: spill.path, maxMemory: "1KB")
        let out = Pipe()  // never read: 800 documents do not fit its buffer
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        defer { if p.isRunning { p.terminate() } }
        let deadline = Date().addingTimeInterval(60)
        var seen: [String] = []
        while Date() < deadline && seen.isEmpty && p.isRunning {
            seen = (try? FileManager.default.contentsOfDirectory(atPath: spill.path)) ?? []
            usleep(20_000)
        }
        XCTAssertFalse(seen.isEmpty, "a spill directory appeared")
        XCTAssert(seen.allSatisfy { $0.hasPrefix(SpillDirectory.prefix + "\(p.processIdentifier)-") }, "\(seen)")
        usleep(300_000)  // let it reach the blocked write
        XCTAssertTrue(p.isRunning, "the run waits on its output")
        kill(p.processIdentifier, SIGINT)
        p.waitUntilExit()
        XCTAssertEqual(p.terminationReason, .exit)
        XCTAssertEqual(p.terminationStatus, 128 + SIGINT)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: spill.path), [], "Ctrl-C removed the spill files")
    }
}
