import Foundation
import StrataTestSupport
import StrataTesting
import Testing

/// StrataTesting from Swift Testing: the throwing helpers need no adapter.
@Suite struct StrataTestingSwiftTestingTests {
    @Test func aSeededCollectionAnswersAsItsMigratedCopy() throws {
        let server = try StrataTestServer.start()
        defer { server.stop() }
        let truth = try Datasets.generate("events", count: 1000).appendingPathComponent("events.truth.jsonl")
        let fixture = try MidMigrationFixture(database: try server.freshDatabase("strata_test_swift_testing"),
                                              schemasDirectory: TestServer.repositoryRoot.appendingPathComponent("schemas"),
                                              collection: "events", documents: Array(try MidMigrationFixture.readJSONLines(truth).prefix(300)))
        let perKind: [BSON] = [["$group": ["_id": "$kind", "n": ["$sum": 1], "total": ["$sum": "$amount.value"]]], ["$sort": ["n": -1, "_id": 1]]]
        try fixture.assertSameAnswer(perKind, mixes: [[0, 1, 0, 1], [1, 0, 0, 0]], seeds: [3])
        let seeded = try fixture.seed(mix: [1, 1, 1, 1], seed: 4)
        #expect(seeded.summary?.perVersion.count == 4)
        try seeded.assertSameAnswer(perKind)
        // A migrated copy that lost a document answers differently: the error is an issue.
        _ = try fixture.database.runCommand(["delete": "events_migrated", "deletes": [["q": ["kind": "purchase"], "limit": 1]]])
        #expect(throws: AnswersDiffer.self) { try seeded.assertSameAnswer(perKind) }
    }
}
