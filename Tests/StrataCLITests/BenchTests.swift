import Foundation
import Strata
import StrataTestSupport
import XCTest

/// `strata bench` at a small size, to keep it working: every query's four answers agree
/// and the reports have their fields. No timing is asserted.
final class BenchTests: XCTestCase {
    static let root = TestServer.repositoryRoot

    func strata(_ args: [String], db: String, timeout: TimeInterval = 240) throws -> StrataRunner.Result {
        try StrataRunner.run(args + ["--uri", TestServer.uri(), "--db", db, "--schemas", Self.root.appendingPathComponent("schemas").path],
                             in: Self.root, timeout: timeout)
    }

    func object(_ url: URL) throws -> [String: Any] {
        let any = try JSONSerialization.jsonObject(with: Data(contentsOf: url))
        return try XCTUnwrap(any as? [String: Any], "\(url.path) holds no JSON object")
    }

    func testEveryQueryFourWaysAgree() throws {
        let db = try TestServer.freshDatabase("bench").name
        let tmp = try TempFolder()
        let json = tmp.url.appendingPathComponent("bench.json"), md = tmp.url.appendingPathComponent("bench.md")
        let r = try strata(["bench", "--size", "3000", "--repetitions", "1", "--warmup", "0",
                            "--work-directory", tmp.url.path, "--json", json.path, "--markdown", md.path], db: db)
        XCTAssertEqual(r.status, 0, r.stderr)

        let report = try object(json)
        for key in ["startedAt", "finishedAt", "command", "build", "server", "machine", "dataset", "preparation", "settings",
                    "queries", "peakRSSBytes", "allAgree"] {
            XCTAssertNotNil(report[key], "the report has no '\(key)'")
        }
        XCTAssertEqual(report["allAgree"] as? Bool, true)
        let dataset = try XCTUnwrap(report["dataset"] as? [String: Any])
        XCTAssertEqual(dataset["size"] as? Int, 3000)
        XCTAssertEqual((dataset["versions"] as? [String: Int])?.values.reduce(0, +), 3000)
        let preparation = try XCTUnwrap(report["preparation"] as? [String: Any])
        XCTAssertEqual(preparation["reused"] as? Bool, false)
        XCTAssertFalse((preparation["mixedIndexes"] as? [String] ?? []).isEmpty, "the recommended indexes on the mixed collection")
        XCTAssertEqual(Set(preparation["migratedIndexes"] as? [String] ?? []), ["geo.region_1_kind_1", "user_1", "at_1"])

        // The bench leaves out the catalog's writing queries ($out/$merge): they answer nothing to time or compare.
        let eventQueries = try FileManager.default.contentsOfDirectory(atPath: Self.root.appendingPathComponent("queries").path)
            .filter { $0.hasPrefix("events-") && $0.hasSuffix(".json") }
            .filter { !(try QuerySpec.load(contentsOf: Self.root.appendingPathComponent("queries/" + $0)).writesResults) }
        let queries = try XCTUnwrap(report["queries"] as? [[String: Any]])
        XCTAssertEqual(queries.count, eventQueries.count)
        var classes = Set<String>()
        for q in queries {
            let name = q["name"] as? String ?? "?"
            XCTAssertEqual(q["allAgree"] as? Bool, true, name)
            classes.insert(q["queryClass"] as? String ?? "?")
            let ways = try XCTUnwrap(q["ways"] as? [String: [String: Any]], name)
            XCTAssertEqual(Set(ways.keys), ["ideal", "upgrading", "planner", "clientSide"], name)
            for (way, w) in ways {
                XCTAssertEqual(w["status"] as? String, "ok", "\(name) \(way): \(w["note"] ?? "")")
                XCTAssertEqual(w["agrees"] as? Bool, true, "\(name) \(way): \(w["difference"] ?? "")")
                XCTAssertNotNil(w["medianSeconds"] as? Double, "\(name) \(way)")
                XCTAssertNotNil(w["bytesReceived"] as? Int, "\(name) \(way)")
                XCTAssertNotNil(w["peakRSSBytes"] as? Int, "\(name) \(way)")
            }
            let ratios = try XCTUnwrap(q["ratios"] as? [String: Double], name)
            XCTAssertEqual(Set(ratios.keys), ["planner/ideal", "upgrading/planner", "client-side/planner"], name)
            XCTAssertNotNil(q["targets"] as? [[String: Any]], name)
        }
        XCTAssertTrue(classes.isSuperset(of: ["fullScan", "selective"]), "\(classes)")

        let table = try String(contentsOf: md, encoding: .utf8)
        XCTAssertTrue(table.contains("all ways agree on every query"), table)
        XCTAssertTrue(table.contains("| planner/ideal |"), table)
        XCTAssertTrue(table.contains("| events-by-kind | full-scan group-by |"), table)

        // A second run reuses the prepared collections.
        let again = try strata(["bench", "--size", "3000", "--reuse", "--repetitions", "1", "--warmup", "0", "--ways", "ideal,planner",
                                "--query", Self.root.appendingPathComponent("queries/events-one-user.json").path,
                                "--work-directory", tmp.url.path, "--json", "-"], db: db)
        XCTAssertEqual(again.status, 0, again.stderr)
        let second = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(again.stdout.utf8)) as? [String: Any])
        XCTAssertEqual((second["preparation"] as? [String: Any])?["reused"] as? Bool, true)
        XCTAssertEqual((second["queries"] as? [Any])?.count, 1)
    }

    func testMemoryModeReportsFigures() throws {
        let db = try TestServer.freshDatabase("bench_memory").name
        let tmp = try TempFolder()
        let json = tmp.url.appendingPathComponent("memory.json")
        let r = try strata(["bench", "memory", "--case", "3000:300", "--case", "3000:3000", "--json", json.path], db: db, timeout: 120)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("| documents | groups |"), r.stdout)
        let cases = try XCTUnwrap(try object(json)["cases"] as? [[String: Any]])
        XCTAssertEqual(cases.map { $0["groups"] as? Int }, [300, 3000])
        for c in cases {
            XCTAssertEqual(c["checked"] as? Bool, true, "\(c)")
            XCTAssertEqual(c["results"] as? Int, c["groups"] as? Int)
            XCTAssertGreaterThan(c["peakRSSBytes"] as? Int ?? 0, 0, "\(c)")
            XCTAssertGreaterThan(c["processPeakRSSBytes"] as? Int ?? 0, 0, "\(c)")
            XCTAssertEqual(c["maxMemoryBytes"] as? Int, 256 << 20, "the default budget")
        }
    }

    func testMemoryModeRunsEachCaseAtEachBudget() throws {
        let db = try TestServer.freshDatabase("bench_memory_budgets").name
        let tmp = try TempFolder()
        let json = tmp.url.appendingPathComponent("memory.json")
        let r = try strata(["bench", "memory", "--case", "3000:3000", "--max-memory", "1KB", "--max-memory", "unlimited", "--json", json.path],
                           db: db, timeout: 120)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("| budget | spill runs |"), r.stdout)
        let cases = try XCTUnwrap(try object(json)["cases"] as? [[String: Any]])
        XCTAssertEqual(cases.count, 2)
        XCTAssertEqual(cases.map { $0["checked"] as? Bool }, [true, true], "both answers right")
        XCTAssertEqual(cases[0]["maxMemoryBytes"] as? Int, 1024)
        XCTAssertGreaterThan(cases[0]["spillRuns"] as? Int ?? 0, 0, "a 1 KB budget spills")
        XCTAssertNil(cases[1]["maxMemoryBytes"] as? Int)
        XCTAssertEqual(cases[1]["spillRuns"] as? Int, 0, "no budget, no spill")
    }
}
