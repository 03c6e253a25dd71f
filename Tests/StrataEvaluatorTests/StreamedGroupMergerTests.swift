import StrataBSON
@testable import StrataEvaluator
import StrataLibBSON
import XCTest

/// `StreamedGroupMerger` over synthetic sorted streams: what it holds, how it groups rows
/// that share a sort key, and that it stops on a stream out of order.
final class StreamedGroupMergerTests: XCTestCase {
    func split() throws -> GroupSplit {
        try GroupSplit(try Group.parse(["_id": "$k", "n": ["$sum": 1], "first": ["$first": "$x"]], at: Location(path: "test")))
    }

    /// Partial rows as the split's server part gives them.
    func rows(_ split: GroupSplit, _ keys: [BSON], tag: String) -> [Document] {
        keys.map { k in
            var row: Document = ["_id": k]
            row[GroupSplit.rowField(0, "")] = 1
            row[GroupSplit.rowField(1, "")] = ["v": .string(tag)]
            return row
        }
    }

    func merge(_ streams: [[Document]], pulled: inout [Int], emitted: inout [(Document, [Int])]) throws {
        let merger = StreamedGroupMerger(split: try split())
        var positions = Array(repeating: 0, count: streams.count)
        var counts = Array(repeating: 0, count: streams.count)
        var out: [(Document, [Int])] = []
        try merger.merge(streams: streams.count, next: { s in
            guard positions[s] < streams[s].count else { return nil }
            positions[s] += 1
            counts[s] += 1
            return streams[s][positions[s] - 1]
        }, emit: { d in out.append((d, counts)); return true })
        pulled = counts
        emitted = out
    }

    func testEqualKeysMergeAcrossStreamsInStreamOrderAndRowsArePulledLazily() throws {
        let s = try split()
        let a = rows(s, [.int32(1), .int32(2), .int32(5), .int32(9)], tag: "a")
        let b = rows(s, [.double(1), .int32(3), .int32(5)], tag: "b")
        var pulled: [Int] = [], emitted: [(Document, [Int])] = []
        try merge([a, b], pulled: &pulled, emitted: &emitted)
        XCTAssertEqual(emitted.map { $0.0["_id"] }, [.int32(1), .int32(2), .int32(3), .int32(5), .int32(9)])
        XCTAssertEqual(emitted.map { $0.0["n"] }, [2, 1, 1, 2, 1].map { BSON.int32($0) })
        // $first takes the first stream's slice when both have the key
        XCTAssertEqual(emitted[0].0["first"], "a")
        XCTAssertEqual(emitted[2].0["first"], "b")
        // when group 1 is emitted, each stream has given at most the row after it
        XCTAssertEqual(emitted[0].1, [2, 2])
        XCTAssertEqual(pulled, [4, 3])
    }

    func testKeysSharingASortKeyAreSeparateGroupsInWhateverOrderTheServerGaveThem() throws {
        let s = try split()
        // [0, 9] sorts as 0 (its smallest element); the server may give it before or after 0
        let a = rows(s, [.array([0, 9]), .int32(0), .int32(4)], tag: "a")
        let b = rows(s, [.int32(0), .array([0, 9]), .array([]), .int32(4)].sorted { x, y in
            StreamedGroupMerger.sortPattern.compare(try! StreamedGroupMerger.sortKey(["_id": x]), try! StreamedGroupMerger.sortKey(["_id": y])) < 0
        }, tag: "b")
        var pulled: [Int] = [], emitted: [(Document, [Int])] = []
        try merge([a, b], pulled: &pulled, emitted: &emitted)
        let ids = emitted.map { $0.0["_id"] }
        XCTAssertEqual(ids, [.array([]), .array([0, 9]), .int32(0), .int32(4)], "the empty array sorts below null; then the sort key 0: [0, 9] then 0 as stream a gave them")
        XCTAssertEqual(emitted.map { $0.0["n"] }, [1, 2, 2, 2].map { BSON.int32($0) })
    }

    func testAStreamOutOfOrderStopsTheMerge() throws {
        let s = try split()
        let a = rows(s, [.int32(1), .int32(7), .int32(3)], tag: "a")
        let b = rows(s, [.int32(2)], tag: "b")
        var pulled: [Int] = [], emitted: [(Document, [Int])] = []
        XCTAssertThrowsError(try merge([a, b], pulled: &pulled, emitted: &emitted)) { error in
            guard case StreamedGroupMerger.Failure.outOfOrder(let stream, let previous, let next)? = error as? StreamedGroupMerger.Failure else {
                return XCTFail("\(error)")
            }
            XCTAssertEqual(stream, 0)
            XCTAssertEqual(previous, .int32(7))
            XCTAssertEqual(next, .int32(3))
        }
    }
}
