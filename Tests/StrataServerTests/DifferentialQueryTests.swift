import Foundation
import StrataBSON
import StrataEvaluator
import StrataLibBSON
import StrataMongo
import StrataTestFixtures
import StrataTestSupport
import XCTest

/// `find(filter)` on the server against `Query.matches` over `Fixture.docs` (and a few
/// extra documents shaped for array-path edge cases): the same `_id` sets.
final class DifferentialQueryTests: XCTestCase {
    static let extraDocs: [Document] = [
        JD(#"{"_id": 101, "p": [{"q": 1}, {"r": 2}]}"#),
        JD(#"{"_id": 102, "p": [1, 2]}"#),
        JD(#"{"_id": 103, "p": []}"#),
        JD(#"{"_id": 104, "p": {"q": [1, [2, 3]]}}"#),
        JD(#"{"_id": 105, "p": [{"q": [4, 5]}, {"q": 6}]}"#),
        JD(#"{"_id": 106, "p": [[1, 2], [3]]}"#),
        JD(#"{"_id": 107, "p": [{"q": null}]}"#),
        JD(#"{"_id": 108, "p": 5}"#),
        JD(#"{"_id": 109, "p": [{"q": {"r": 1}}, {"q": [{"r": 2}]}]}"#),
        JD(#"{"_id": 110, "p": [null]}"#),
        JD(#"{"_id": 111, "p": {"0": "zero"}}"#),
        JD(#"{"_id": 112, "p": [{"0": "obj"}, "x"]}"#),
    ]

    static let filters: [String] = [
        #"{}"#, #"{"i": 5}"#, #"{"i": 5.0}"#, #"{"i": {"$gt": 2}}"#, #"{"i": {"$gte": 0, "$lt": 7}}"#, #"{"i": {"$ne": 5}}"#,
        #"{"l": {"$gt": 0}}"#, #"{"d": {"$lt": 0}}"#, #"{"d": {"$gte": 0.1}}"#, #"{"d": {"$lte": 1e300}}"#,
        #"{"s": {"$gt": "a"}}"#, #"{"s": {"$lt": 5}}"#, #"{"s": "hello"}"#, #"{"s": {"$in": ["hello", "World", 3]}}"#,
        #"{"s": {"$nin": ["hello", null]}}"#, #"{"s": {"$regex": "^h"}}"#, #"{"s": {"$regex": "o", "$options": "i"}}"#,
        #"{"s": {"$not": {"$regex": "l"}}}"#, #"{"s": {"$in": [{"$regex": "^W"}, "x"]}}"#, #"{"u": {"$regex": "ö"}}"#,
        #"{"n": null}"#, #"{"n": {"$ne": null}}"#, #"{"n": {"$exists": true}}"#, #"{"n": {"$exists": false}}"#,
        #"{"b": true}"#, #"{"b": {"$in": [true, 1]}}"#, #"{"b": {"$type": "bool"}}"#, #"{"b": {"$type": ["int", "null"]}}"#,
        #"{"g": null}"#, #"{"g": {"$gte": null}}"#, #"{"g": {"$lt": null}}"#, #"{"g": {"$in": [null, "A"]}}"#,
        #"{"a": 1}"#, #"{"a": [1, 2, 3]}"#, #"{"a": [1, 2]}"#, #"{"a": {"$size": 3}}"#, #"{"a": {"$size": 0}}"#,
        #"{"a": {"$all": [1, 2]}}"#, #"{"a": {"$all": []}}"#, #"{"a": {"$gt": 2}}"#, #"{"a": {"$gt": 1, "$lt": 3}}"#,
        #"{"a": {"$elemMatch": {"$gt": 1, "$lt": 3}}}"#, #"{"a": null}"#, #"{"a": {"$type": "array"}}"#, #"{"a": {"$type": "number"}}"#,
        #"{"a.0": 1}"#, #"{"a.1": {"$gt": 1}}"#, #"{"a.0": {"$exists": true}}"#, #"{"a.k": 1}"#, #"{"a": [1, 2]}"#,
        #"{"a": {"$elemMatch": {"k": 1}}}"#, #"{"a": {"$in": [[1, 2], 5]}}"#, #"{"a": {"$ne": 1}}"#, #"{"a": {"$nin": [1, 5]}}"#,
        #"{"tags": "red"}"#, #"{"tags": ["red", "blue"]}"#, #"{"tags": {"$all": ["red", "blue"]}}"#, #"{"tags.1": "blue"}"#,
        #"{"tags": {"$regex": "^r"}}"#, #"{"tags": {"$size": 1}}"#, #"{"tags": {"$not": {"$size": 1}}}"#,
        #"{"arr.x": 1}"#, #"{"arr.x": {"$gt": 1}}"#, #"{"arr.x": null}"#, #"{"arr.x": {"$exists": false}}"#, #"{"arr.y": {"$exists": true}}"#,
        #"{"arr": {"$elemMatch": {"x": 1, "y": 2}}}"#, #"{"arr": {"$elemMatch": {"x": {"$gt": 1}}}}"#, #"{"arr.1.x": 2}"#,
        #"{"arr.x.y": 1}"#, #"{"arr": {"x": 1, "y": 2}}"#, #"{"arr": {"x": 1}}"#, #"{"arr.x": [1, 2]}"#,
        #"{"o.x": 1}"#, #"{"o": {"x": 1, "y": "z"}}"#, #"{"o": {"y": "z", "x": 1}}"#, #"{"o.x.deep": 1}"#, #"{"o.x.deep.z": 9}"#,
        #"{"o.x": null}"#, #"{"o.x": {"$type": "array"}}"#, #"{"o.x.1": 2}"#,
        #"{"dt": {"$gt": {"$date": "2000-01-01T00:00:00Z"}}}"#, #"{"dt": {"$lt": {"$date": "1970-01-01T00:00:00Z"}}}"#,
        #"{"dt": {"$type": "date"}}"#, #"{"oid": {"$type": "objectId"}}"#,
        #"{"v": {"$mod": [2, 0]}}"#, #"{"v": {"$mod": [3, 1]}}"#, #"{"w": {"$mod": [2, 1]}}"#, #"{"i": {"$mod": [-3, 2]}}"#,
        #"{"$or": [{"i": 5}, {"g": "C"}]}"#, #"{"$and": [{"i": {"$gt": 0}}, {"i": {"$lt": 8}}]}"#, #"{"$nor": [{"g": "A"}, {"g": "B"}]}"#,
        #"{"$expr": {"$gt": ["$v", "$w"]}}"#, #"{"$expr": {"$eq": [{"$size": {"$ifNull": ["$tags", []]}}, 2]}}"#,
        #"{"g": "A", "$expr": {"$lt": ["$i", 5]}}"#, #"{"i": {"$not": {"$gt": 2}}}"#, #"{"d": {"$gt": {"$numberDouble": "NaN"}}}"#,
        #"{"d": {"$numberDouble": "NaN"}}"#, #"{"d": {"$gte": {"$numberDouble": "-Infinity"}}}"#, #"{"i": {"$lt": {"$maxKey": 1}}}"#,
        #"{"i": {"$gt": {"$minKey": 1}}}"#, #"{"x": {"$type": "string"}}"#, #"{"$comment": "hi", "i": 5}"#,
        #"{"v": {"$bitsAllSet": [1]}}"#, #"{"v": {"$bitsAnyClear": 3}}"#,
        // array-path edge cases on the extra documents
        #"{"p.q": 1}"#, #"{"p.q": null}"#, #"{"p.q": {"$exists": true}}"#, #"{"p.q": {"$exists": false}}"#, #"{"p.q": 2}"#,
        #"{"p.q": [2, 3]}"#, #"{"p.q": 4}"#, #"{"p.q": [4, 5]}"#, #"{"p.0": 1}"#, #"{"p.0": [1, 2]}"#, #"{"p.0.1": 2}"#,
        #"{"p.0.q": 1}"#, #"{"p.1.r": 2}"#, #"{"p.q.r": 2}"#, #"{"p.q.r": {"$gt": 0}}"#, #"{"p": null}"#, #"{"p": {"$size": 0}}"#,
        #"{"p": []}"#, #"{"p": {"$elemMatch": {"$gt": 1}}}"#, #"{"p": {"$elemMatch": {"q": {"$exists": true}}}}"#, #"{"p.0": "zero"}"#,
        #"{"p.0": "obj"}"#, #"{"p.1": "x"}"#, #"{"p": {"$type": "array"}}"#, #"{"p.q": {"$type": "null"}}"#, #"{"p": {"$ne": null}}"#,
        #"{"p": {"$all": [[1, 2]]}}"#, #"{"p.q": {"$size": 2}}"#, #"{"p": {"$exists": true, "$not": {"$size": 0}}}"#,
        #"{"p": {"$all": [{"$elemMatch": {"q": 1}}, {"$elemMatch": {"r": 2}}]}}"#,
    ]

    /// SecantusDB differs from mongod here; strata follows mongod (see QueryTests).
    static let secantusDivergences: [String: String] = [
        #"{"p": {"$all": [[1, 2]]}}"#: "mongod: $all of one array value is equality to that array ({p: [1, 2]} matches)",
    ]

    func testFiltersAgreeWithTheServer() throws {
        let fx = try ServerFixture.get()
        let docs = Fixture.docs + Self.extraDocs
        let coll = try fx.collection("querydocs", docs)
        var failures: [String] = []
        for text in Self.filters where Self.secantusDivergences[text] == nil {
            let filter = JD(text)
            let q: Query
            do { q = try Query.parse(filter, at: Location(path: "filter")) } catch {
                failures.append("\(text): strata refused: \(error)")
                continue
            }
            XCTAssertEqual(ExtendedJSON.string(try Query.parse(q.bson).bson), ExtendedJSON.string(q.bson), "round trip of \(text)")
            let server: [BSON]
            do { server = try coll.find(filter).all().map { $0["_id"]! } } catch {
                failures.append("\(text): server error \(error)")
                continue
            }
            var mine: [BSON] = []
            for d in docs {
                do { if try q.matches(d) { mine.append(d["_id"]!) } } catch {
                    failures.append("\(text): strata error \(error)")
                    break
                }
            }
            let s = Set(server.map(GroupKey.init)), m = Set(mine.map(GroupKey.init))
            if s != m {
                let onlyServer = s.subtracting(m).compactMap(\.value).map(show).sorted()
                let onlyMine = m.subtracting(s).compactMap(\.value).map(show).sorted()
                failures.append("\(text): only server \(onlyServer), only strata \(onlyMine)")
            }
        }
        if !failures.isEmpty { XCTFail("\(failures.count) differences:\n" + failures.joined(separator: "\n")) }
    }
}
