import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import StrataBSON
import StrataMongo
import StrataTestFixtures
import StrataTestSupport
import XCTest

/// Launches the built `StrataServiceExample` (Examples/ServiceExample: Hummingbird, a
/// MigratorService and a LiveHistogramService in a ServiceGroup) against the test server,
/// asks it over HTTP, and stops it with SIGTERM.
final class ServiceExampleTests: XCTestCase {
    struct Histogram: Decodable {
        var total: Int
        var counts: [String: Int]
        var live: Bool
    }

    struct Count: Decodable {
        var kind: String?
        var count: Int
    }

    static var binary: URL {
        StrataRunner.binary.deletingLastPathComponent().appendingPathComponent("StrataServiceExample")
    }

    func get<T: Decodable>(_ url: URL, as: T.Type) async throws -> T? {
        var request = URLRequest(url: url)
        request.timeoutInterval = 10
        let (data, response) = try await URLSession.shared.data(for: request)
        guard (response as? HTTPURLResponse)?.statusCode == 200 else { return nil }
        return try JSONDecoder().decode(T.self, from: data)
    }

    func testServiceExampleAnswersAndShutsDownOnSIGTERM() async throws {
        guard FileManager.default.isExecutableFile(atPath: Self.binary.path) else {
            throw TestSupportError("no StrataServiceExample at \(Self.binary.path): `swift build --build-tests` builds it")
        }
        let dir = try Datasets.generate("events", count: 500)
        let db = try TestServer.freshDatabase("cli_service_example")
        try db.collection("events").insertMany(try Datasets.readJSONL(dir.appendingPathComponent("events.mixed.jsonl")))
        let truth = try Datasets.readJSONL(dir.appendingPathComponent("events.truth.jsonl"))
        let kind = try XCTUnwrap(truth.first?["kind"]?.stringValue)
        let ofKind = truth.filter { $0["kind"]?.stringValue == kind }.count

        let scratch = try TempFolder()
        let outURL = scratch.url.appendingPathComponent("out"), errURL = scratch.url.appendingPathComponent("err")
        try Data().write(to: outURL)
        try Data().write(to: errURL)
        let p = Process()
        p.executableURL = Self.binary
        var env = ProcessInfo.processInfo.environment
        env["STRATA_URI"] = try TestServer.uri()
        env["STRATA_DB"] = db.name
        env["PORT"] = "0"
        env["STRATA_SCHEMAS"] = TestServer.repositoryRoot.appendingPathComponent("schemas").path
        env["STRATA_MIGRATE_RATE"] = "150" // slow enough to be mid-run at SIGTERM
        env["STRATA_MIGRATE_EVERY"] = "1"
        p.environment = env
        p.standardOutput = try FileHandle(forWritingTo: outURL)
        p.standardError = try FileHandle(forWritingTo: errURL)
        p.standardInput = FileHandle.nullDevice
        try p.run()
        defer { if p.isRunning { p.terminate(); p.waitUntilExit() } }
        func stderr() -> String { (try? String(contentsOf: errURL, encoding: .utf8)) ?? "" }

        // "listening on http://127.0.0.1:PORT"
        var base: URL?
        let deadline = Date().addingTimeInterval(30)
        while base == nil && Date() < deadline && p.isRunning {
            let out = (try? String(contentsOf: outURL, encoding: .utf8)) ?? ""
            if let line = out.split(separator: "\n").first(where: { $0.hasPrefix("listening on ") }) {
                base = URL(string: String(line.dropFirst("listening on ".count)))
            } else {
                try await Task.sleep(for: .milliseconds(50))
            }
        }
        let url = try XCTUnwrap(base, "the example did not start: \(stderr())")

        // The histogram: first count, then the migrator's progress seen live.
        var first: Histogram?
        while first == nil && Date() < deadline {
            first = try await get(url.appendingPathComponent("histogram"), as: Histogram.self)
            if first == nil { try await Task.sleep(for: .milliseconds(50)) }
        }
        let h0 = try XCTUnwrap(first, stderr())
        XCTAssertEqual(h0.total, 500)
        XCTAssertEqual(h0.counts.values.reduce(0, +), 500)
        XCTAssertEqual(Set(h0.counts.keys), ["0", "1", "2", "3"])
        XCTAssertTrue(h0.live)
        var moved = false
        while !moved && Date() < deadline {
            let h = try await get(url.appendingPathComponent("histogram"), as: Histogram.self)
            moved = (h?.counts["3"] ?? 0) > (h0.counts["3"] ?? 0)
            if !moved { try await Task.sleep(for: .milliseconds(100)) }
        }
        XCTAssertTrue(moved, "the histogram never showed the migrator's progress: \(stderr())")

        // Counts through the lens, while documents move.
        var components = URLComponents(url: url.appendingPathComponent("events/count"), resolvingAgainstBaseURL: false)!
        components.queryItems = [URLQueryItem(name: "kind", value: kind)]
        let counted = try await get(components.url!, as: Count.self)
        XCTAssertEqual(counted?.kind, kind)
        XCTAssertEqual(counted?.count, ofKind)
        let all = try await get(url.appendingPathComponent("events/count"), as: Count.self)
        XCTAssertEqual(all?.count, 500)

        // SIGTERM: a graceful shutdown, exit 0 within a few seconds.
        let asked = Date()
        kill(p.processIdentifier, SIGTERM)
        while p.isRunning && Date().timeIntervalSince(asked) < 15 { try await Task.sleep(for: .milliseconds(20)) }
        let took = Date().timeIntervalSince(asked)
        XCTAssertFalse(p.isRunning, "still running 15 s after SIGTERM")
        p.waitUntilExit()
        XCTAssertEqual(p.terminationReason, .exit)
        XCTAssertEqual(p.terminationStatus, 0, stderr())
        XCTAssertLessThan(took, 5)
        let log = stderr()
        XCTAssertTrue(log.contains("migrator service stopped"), log)
        XCTAssertTrue(log.contains("live histogram service stopped"), log)
        XCTAssertTrue(log.contains("shut down"), log)
        XCTAssertEqual(try db.collection("events").countDocuments([:]), 500)
        print("SIGTERM to exit: \(took) s")
    }
}
