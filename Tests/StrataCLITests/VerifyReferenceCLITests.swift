import Foundation
import StrataMongo
import StrataTestSupport
import XCTest

/// `strata verify --against`: a reference that does not exist, or is empty, is refused
/// before any query runs (it used to report every query as DIFFER, or agree with any
/// query that finds nothing); and a lens `lookup` into a versioned collection is
/// refused at load by every command.
final class VerifyReferenceCLITests: XCTestCase {
    static let root = TestServer.repositoryRoot

    /// A lens whose `lookup` reads a collection that has a lens of its own: exit 2 naming
    /// the lens file and the place, from any command, before connecting.
    func testALensLookupIntoAVersionedCollectionIsRefused() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("strata-lookup-\(UUID())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let devices = dir.appendingPathComponent("devices.json")
        try FileManager.default.copyItem(at: Self.root.appendingPathComponent("schemas/devices.json"), to: devices)
        let unreachable = ["--uri", "mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=100", "--schemas", dir.path]

        // products has no lens: fine.
        let fine = try StrataRunner.run(["index", "-c", "devices", "--dry-run"] + unreachable)
        XCTAssertEqual(fine.status, 0, fine.stdout + fine.stderr)

        try #"{"collection": "products", "versionField": "v", "steps": []}"#
            .write(to: dir.appendingPathComponent("products.json"), atomically: true, encoding: .utf8)
        for args in [["index", "-c", "devices", "--dry-run"], ["histogram", "-c", "devices"],
                     ["run", "--collection", "devices", "--pipeline", "[]"]] {
            let r = try StrataRunner.run(args + unreachable)
            XCTAssertEqual(r.status, 2, "\(args): " + r.stdout + r.stderr)
            XCTAssertTrue(r.stderr.contains("devices.json: steps[0].operations[0].from: lookup into 'products', which has a lens of its own"),
                          "\(args): " + r.stderr)
            XCTAssertTrue(r.stderr.contains("read as stored"), r.stderr)
        }
    }
}
