import Foundation
import StrataMongo
import StrataTestSupport
import XCTest

/// `strata verify --against`: a reference that does not exist, or is empty, is refused
/// before any query runs (it used to report every query as DIFFER, or agree with any
/// query that finds nothing); and a lens `lookup` that cannot be read as if migrated
/// (into the collection itself) is refused at load by every command.
final class VerifyReferenceCLITests: XCTestCase {
    static let root = TestServer.repositoryRoot

    func testAMissingOrEmptyReferenceIsRefused() throws {
        let db = try RunCLITests.loadEvents("cli_verify_reference")
        _ = try MongoDatabase(pool: try TestServer.pool(), name: db).runCommand(["create": "empty_ref"])
        let base = ["--uri", try TestServer.uri(), "--db", db, "--schemas", Self.root.appendingPathComponent("schemas").path]
        let query = Self.root.appendingPathComponent("queries/events-by-kind.json").path

        let missing = try StrataRunner.run(["verify", query, "--against", "events_migrated"] + base)
        XCTAssertEqual(missing.status, 2, missing.stdout + missing.stderr)
        XCTAssertTrue(missing.stderr.contains("the reference collection 'events_migrated' does not exist in database '\(db)'"), missing.stderr)
        XCTAssertFalse(missing.stdout.contains("DIFFER"), missing.stdout)

        // '{collection}' is replaced before the check.
        let pattern = try StrataRunner.run(["verify", query, "--against", "{collection}_nope"] + base)
        XCTAssertEqual(pattern.status, 2, pattern.stdout + pattern.stderr)
        XCTAssertTrue(pattern.stderr.contains("'events_nope' does not exist"), pattern.stderr)

        let empty = try StrataRunner.run(["verify", query, "--against", "empty_ref"] + base)
        XCTAssertEqual(empty.status, 2, empty.stdout + empty.stderr)
        XCTAssertTrue(empty.stderr.contains("the reference collection 'empty_ref' in database '\(db)' is empty"), empty.stderr)
        XCTAssertTrue(empty.stderr.contains("--allow-empty-reference"), empty.stderr)

        // Told that empty is fine: the queries run (and differ: the mixed collection is not empty).
        let allowed = try StrataRunner.run(["verify", query, "--against", "empty_ref", "--allow-empty-reference"] + base)
        XCTAssertEqual(allowed.status, 6, allowed.stdout + allowed.stderr)
        XCTAssertTrue(allowed.stdout.hasPrefix("DIFFER"), allowed.stdout)

        // A reference that exists and holds documents: as before.
        let ok = try StrataRunner.run(["verify", query, "--against", "{collection}_truth"] + base)
        XCTAssertEqual(ok.status, 0, ok.stdout + ok.stderr)
    }

    /// A lens whose `lookup` reads a collection that has a lens of its own loads (the lookup
    /// reads it as if migrated); one that reads the collection itself is refused: exit 2
    /// naming the lens file and the place, from any command, before connecting.
    func testALensLookupIntoItselfIsRefusedAndIntoAVersionedCollectionLoads() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("strata-lookup-\(UUID())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let devices = dir.appendingPathComponent("devices.json")
        try FileManager.default.copyItem(at: Self.root.appendingPathComponent("schemas/devices.json"), to: devices)
        let unreachable = ["--uri", "mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=100", "--schemas", dir.path]

        // products has no lens, then one: both fine.
        let fine = try StrataRunner.run(["index", "-c", "devices", "--dry-run"] + unreachable)
        XCTAssertEqual(fine.status, 0, fine.stdout + fine.stderr)
        try #"{"collection": "products", "versionField": "v", "steps": []}"#
            .write(to: dir.appendingPathComponent("products.json"), atomically: true, encoding: .utf8)
        let versioned = try StrataRunner.run(["index", "-c", "devices", "--dry-run"] + unreachable)
        XCTAssertEqual(versioned.status, 0, versioned.stdout + versioned.stderr)

        // Into itself: refused.
        let text = try String(contentsOf: devices, encoding: .utf8)
        try text.replacingOccurrences(of: #""from": "products""#, with: #""from": "devices""#).write(to: devices, atomically: true, encoding: .utf8)
        for args in [["index", "-c", "devices", "--dry-run"], ["histogram", "-c", "devices"],
                     ["run", "--collection", "devices", "--pipeline", "[]"]] {
            let r = try StrataRunner.run(args + unreachable)
            XCTAssertEqual(r.status, 2, "\(args): " + r.stdout + r.stderr)
            XCTAssertTrue(r.stderr.contains("devices.json: steps[0].operations[0].from: lookup into 'devices', the collection this lens describes"),
                          "\(args): " + r.stderr)
        }
    }
}
