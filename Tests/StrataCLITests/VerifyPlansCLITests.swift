import Foundation
import StrataBSON
import StrataMongo
import StrataTestSupport
import XCTest

/// `strata verify --plans all` runs every plan family, so a lens claim the server's own
/// plan never leans on is exercised anyway.
final class VerifyPlansCLITests: XCTestCase {
    func testPlansAllCatchesAClaimTheDefaultPlanDoesNotUse() throws {
        let work = try TempFolder()
        let schemas = work.url.appendingPathComponent("schemas")
        try FileManager.default.createDirectory(at: schemas, withIntermediateDirectories: true)
        // x³ - 15x² + 63x, claimed increasing: it is on every sample the load check
        // tries, but dips between 3 and 7 (f(1) = f(7) = 49). The inverse round-trips at
        // 49 (49 / 49 = 1, f(1) = 49), so a plan that bounds x by it reads x <= 1 only.
        try #"""
            {"collection": "m", "versionField": "v", "steps": [{"from": 0, "to": 1, "operations": [
              {"op": "convert", "field": "x", "to": "y",
               "expr": {"$add": [{"$multiply": ["$$value", "$$value", "$$value"]}, {"$multiply": [-15, "$$value", "$$value"]},
                                 {"$multiply": [63, "$$value"]}]},
               "inverse": {"$divide": ["$$value", 49]}, "monotone": "increasing"}]}],
             "indexes": [{"key": {"y": 1}}]}
            """#.write(to: schemas.appendingPathComponent("m.json"), atomically: true, encoding: .utf8)
        let db = try TestServer.freshDatabase("cli_verify_plans")
        _ = try db.collection("m").insertMany((0..<20).map { ["_id": .int32(Int32($0)), "x": .int32(Int32($0))] })
        var truth: [Document] = []
        for i in 0..<20 {
            let y: Int = i * i * i - 15 * i * i + 63 * i
            truth.append(["_id": .int32(Int32(i)), "v": 1, "y": .int32(Int32(y))])
        }
        _ = try db.collection("m_truth").insertMany(truth)
        try #"{"collection": "m", "pipeline": [{"$match": {"y": {"$lte": 49}}}, {"$count": "n"}]}"#
            .write(to: work.url.appendingPathComponent("q.json"), atomically: true, encoding: .utf8)
        let args = ["verify", "q.json", "--against", "m_truth", "--uri", try TestServer.uri(), "--db", db.name, "--schemas", schemas.path]

        let server = try StrataRunner.run(args, in: work.url)
        XCTAssertEqual(server.status, 0, server.stdout + server.stderr)
        XCTAssert(server.stdout.contains("agree"), server.stdout)

        let all = try StrataRunner.run(args + ["--plans", "all"], in: work.url)
        XCTAssertEqual(all.status, 6, all.stdout + all.stderr)
        XCTAssert(all.stdout.contains("DIFFER") && all.stdout.contains("mongod plans"), all.stdout)
    }
}
