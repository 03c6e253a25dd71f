// README example: begin
import Foundation
import StrataTesting
import XCTest

/// The revenue report, checked on `events` mid-migration: the same pipeline through strata
/// over documents stored at the lens's four versions, and directly on their migrated copy.
final class RevenueReportTests: XCTestCase {
    /// An event at the newest version of schemas/events.json.
    struct Event: Codable {
        struct Amount: Codable { var value: Double; var currency = "USD" }
        struct Geo: Codable { var region: String }
        var _id: Int
        var v = 3
        var at: Date
        var kind: String
        var user: Int
        var amount: Amount
        var tags: [String]
        var geo: Geo
    }

    static let revenuePerRegion: [BSON] = [
        ["$match": ["kind": "purchase"]],
        ["$group": ["_id": "$geo.region", "total": ["$sum": "$amount.value"], "orders": ["$sum": 1]]],
        ["$sort": ["total": -1, "_id": 1]],
    ]

    func testRevenuePerRegionMidMigration() throws {
        let server = try StrataTestServer.start()  // the embedded server, or $STRATA_TEST_URI
        defer { server.stop() }
        let kinds = ["view", "click", "purchase"], regions = ["eu-west", "us-east", "ap-south"]
        let events = (0..<600).map { i in
            Event(_id: i, at: Date(timeIntervalSince1970: 1_735_689_600 + Double(i) * 3_600), kind: kinds[i % 3],
                  user: i % 50, amount: .init(value: i % 3 == 2 ? Double(i * 7 % 10_000) / 100 : 0),
                  tags: i % 4 == 0 ? ["promo"] : [], geo: .init(region: regions[i / 3 % 3]))
        }
        let fixture = try MidMigrationFixture(database: try server.freshDatabase("revenue_report_test"),
                                              schemasDirectory: URL(fileURLWithPath: "schemas"),
                                              collection: "events", values: events)

        // At every mix StrataTesting chooses for a four-version lens (4,3,2,1; all at v0;
        // v2 absent; all at v3), two seeds each: throws AnswersDiffer naming what differs.
        try fixture.assertSameAnswer(Self.revenuePerRegion, seeds: [1, 2])

        // One mix, looked at closely.
        let seeded = try fixture.seed(mix: [40, 30, 20, 10], seed: 7)
        XCTAssertEqual(seeded.summary?.perVersion.values.reduce(0, +), 600)
        XCTAssertEqual(try seeded.strataAnswer(Self.revenuePerRegion).count, 3)
        try seeded.assertSameAnswer(Self.revenuePerRegion)
    }
}
// README example: end

/// The README's example is this file's region above, character for character.
final class ReadmeExampleTests: XCTestCase {
    func testTheReadmeExampleIsThisFile() throws {
        let here = URL(fileURLWithPath: #filePath)
        let root = here.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let readme = try String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)
        let source = try String(contentsOf: here, encoding: .utf8)

        let heading = "## Testing code over a collection mid-migration\n"
        let section = try XCTUnwrap(readme.range(of: heading), "README has no section '\(heading)'")
        let open = try XCTUnwrap(readme.range(of: "```swift\n", range: section.upperBound..<readme.endIndex))
        let close = try XCTUnwrap(readme.range(of: "\n```\n", range: open.upperBound..<readme.endIndex))
        let block = String(readme[open.upperBound..<close.lowerBound])

        let begin = try XCTUnwrap(source.range(of: "// README example: begin\n"))
        let end = try XCTUnwrap(source.range(of: "\n// README example: end\n"))
        let region = String(source[begin.upperBound..<end.lowerBound])

        XCTAssertGreaterThan(region.count, 500)
        if block != region {
            let b = block.split(separator: "\n", omittingEmptySubsequences: false)
            let r = region.split(separator: "\n", omittingEmptySubsequences: false)
            let i = (0..<min(b.count, r.count)).first { b[$0] != r[$0] } ?? min(b.count, r.count)
            XCTFail("""
                the README's example differs from Tests/StrataTests/ReadmeExampleTests.swift at line \(i + 1) of the block:
                  README: \(i < b.count ? String(b[i]) : "(ends)")
                  test:   \(i < r.count ? String(r[i]) : "(ends)")
                """)
        }
    }
}
