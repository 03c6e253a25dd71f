import StrataBSON
import StrataEvaluator
import StrataLibBSON
import StrataMongo
import StrataTestFixtures
import XCTest

/// NKeyTests' check against the server.
final class NKeyServerTests: XCTestCase {
    /// Partial groups on the server over slices, merged in Swift: the partial ships every input
    /// when `n` reads the key, so the answer does not depend on the server's reading of `n`.
    func testGroupSplitWithKeyDependentN() throws {
        let fx = try ServerFixture.get()
        let coll = try fx.collection("gamescores_n", NKeyCases.gamescores)
        for (acc, g1, g2) in NKeyCases.cases {
            let split = try GroupSplit(try Group.parse(NKeyCases.group(acc), at: Location(path: "g")))
            let merger = split.makeMerger()
            for (lo, hi) in [(0, 3), (3, 6), (6, 9)] {
                let rows = try coll.aggregateAll([["$match": ["_id": ["$gte": .int32(Int32(lo)), "$lt": .int32(Int32(hi))]]],
                                                  ["$sort": ["_id": 1]], ["$group": .document(split.partialGroup)]])
                for r in rows { try merger.add(r) }
            }
            XCTAssertEqual(NKeyCases.byGame(try merger.finish()), NKeyCases.expected(g1, g2), acc)
            // the server's own single pass, for the record (SecantusDB agrees where it reads n as mongod)
            let full = try coll.aggregateAll([["$sort": ["_id": 1]], ["$group": .document(NKeyCases.group(acc))]])
            if NKeyCases.byGame(full) != NKeyCases.expected(g1, g2) { print("note: SecantusDB differs from mongod on \(acc): \(NKeyCases.byGame(full))") }
        }
    }
}
