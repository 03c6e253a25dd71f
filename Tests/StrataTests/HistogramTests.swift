import Foundation
@testable import Strata
import Strata
import StrataBSON
import StrataEvaluator
import StrataLens
import StrataLibBSON
import StrataMongo
import StrataTestFixtures
import StrataTestSupport
import XCTest

final class HistogramTests: XCTestCase {
    /// A lens with the dataset's header and empty steps: all the histogram reads.
    static func lens(collection: String, field: String, absentMeans: Int = 0, versions: ClosedRange<Int>) throws -> Lens {
        let steps = versions.dropLast().map { "{\"from\": \($0), \"operations\": []}" }.joined(separator: ", ")
        return try Lens.parse("""
            {"collection": "\(collection)", "versionField": "\(field)", "absentMeans": \(absentMeans), "steps": [\(steps)]}
            """)
    }

    /// Counts versions straight from the generated file: missing → absentMeans,
    /// integral number → that version, anything else → by its Extended JSON.
    static func expectedCounts(_ file: URL, field: String, absentMeans: Int) throws -> (versions: [Int: Int], missing: Int, other: [String: Int]) {
        var versions: [Int: Int] = [:]
        var other: [String: Int] = [:]
        var missing = 0
        for doc in try Datasets.readJSONL(file) {
            switch doc[field] {
            case nil:
                missing += 1
                versions[absentMeans, default: 0] += 1
            case .int32(let v): versions[Int(v), default: 0] += 1
            case .int64(let v): versions[Int(v), default: 0] += 1
            case .double(let d) where d.rounded() == d && abs(d) < 1e15: versions[Int(d), default: 0] += 1
            case let value?: other[ExtendedJSON.string(value), default: 0] += 1
            }
        }
        return (versions, missing, other)
    }

    func checkDataset(_ name: String, field: String, versions: ClosedRange<Int>, count: Int = 2000) throws {
        let dir = try Datasets.generate(name, count: count)
        let file = dir.appendingPathComponent("\(name).mixed.jsonl")
        let coll = try TestServer.freshDatabase("histogram_\(name)").collection(name)
        XCTAssertEqual(try Importer.importJSONL(file, into: coll), count)
        let lens = try Self.lens(collection: name, field: field, versions: versions)
        let expected = try Self.expectedCounts(file, field: field, absentMeans: 0)
        XCTAssertTrue(expected.other.isEmpty, "the generator writes integer versions only")
        XCTAssertGreaterThan(expected.missing, 0, "some documents of \(name) lack '\(field)'")

        let scanned = try VersionHistogram.read(coll, lens: lens)
        XCTAssertFalse(scanned.strategy.isIndexed, "\(scanned.strategy)")
        XCTAssertEqual(scanned.counts, expected.versions, name)
        XCTAssertEqual(scanned.documentsWithoutField, expected.missing)
        XCTAssertEqual(scanned.total, count)
        XCTAssertTrue(scanned.unknownVersions.isEmpty)
        XCTAssertTrue(scanned.nonInteger.isEmpty)
        XCTAssertEqual(Set(scanned.counts.keys), Set(versions))

        try coll.createIndexes([["key": .document(Document([(field, 1)])), "name": "version_idx"]])
        let automatic = try VersionHistogram.read(coll, lens: lens)
        XCTAssertEqual(automatic, scanned)
        switch automatic.strategy {
        case .versionIndex(let indexName, let stages, let queries):
            // A server that runs every probe on the index (mongod does).
            XCTAssertEqual(indexName, "version_idx")
            XCTAssertTrue(stages.contains("IXSCAN") || stages.contains("COUNT_SCAN"), "\(stages)")
            XCTAssertEqual(queries, versions.count + 2)
        case .groupScan(let reason):
            // SecantusDB plans the `$nin` probe as a COLLSCAN: the explain check refuses the index.
            XCTAssertTrue(reason.contains("not an index scan"), reason)
        }
        // The probes themselves, whatever the server's plans, partition the documents exactly.
        XCTAssertEqual(try Self.probes(coll, lens: lens), scanned)
        XCTAssertEqual(try VersionHistogram.read(coll, lens: lens, strategy: .scan), scanned)
    }

    /// Runs the indexed strategy's probes (a count per known version, null or
    /// missing, everything else) without the explain check.
    static func probes(_ coll: MongoCollection, lens: Lens) throws -> VersionHistogram {
        try HistogramReader(collection: coll, field: lens.versionField, absentMeans: lens.absentMeans, known: lens.knownVersions)
            .indexed(.init(names: ["(probes)"], stages: []))
    }

    func testUsersMatchTheGeneratedFile() throws {
        try checkDataset("users", field: "schema_version", versions: 0...3)
    }

    func testDevicesMatchTheGeneratedFile() throws {
        try checkDataset("devices", field: "schemaVersion", versions: 0...2)
    }

    func testEventsMatchTheGeneratedFile() throws {
        try checkDataset("events", field: "v", versions: 0...3)
    }

    /// Documents at versions the lens does not know, and version fields that are
    /// not integers, each get a line of their own; integral numbers of every
    /// numeric type count as their version.
    static let oddDocuments: [Document] = [
        ["_id": 1], ["_id": 2],                                     // missing → 0
        ["_id": 3, "v": 0],
        ["_id": 4, "v": 1], ["_id": 5, "v": .double(1.0)], ["_id": 6, "v": .int64(1)],
        ["_id": 7, "v": .decimal128(try! decimal("2"))], ["_id": 8, "v": 2],
        ["_id": 9, "v": 7], ["_id": 10, "v": 7], ["_id": 11, "v": .int64(1 << 40)], ["_id": 12, "v": -1],
        ["_id": 13, "v": "2"], ["_id": 14, "v": 1.5], ["_id": 15, "v": .null], ["_id": 16, "v": .null],
        ["_id": 17, "v": ["a": 1]], ["_id": 18, "v": .double(.nan)], ["_id": 19, "v": true],
    ]

    static func decimal(_ text: String) throws -> Decimal128 {
        guard case .decimal128(let d)? = try ExtendedJSON.parseDocument("{\"d\": {\"$numberDecimal\": \"\(text)\"}}")["d"] else {
            throw TestSupportError("cannot make a decimal")
        }
        return d
    }

    func checkOdd(_ h: VersionHistogram) {
        XCTAssertEqual(h.counts, [0: 3, 1: 3, 2: 2])
        XCTAssertEqual(h.documentsWithoutField, 2)
        XCTAssertEqual(h.unknownVersions, [7: 2, 1 << 40: 1, -1: 1])
        let odd = Dictionary(uniqueKeysWithValues: h.nonInteger.map { ($0.extendedJSON, $0.count) })
        XCTAssertEqual(odd, ["\"2\"": 1, "1.5": 1, "null": 2, "{ \"a\" : 1 }": 1, "{ \"$numberDouble\" : \"NaN\" }": 1, "true": 1])
        XCTAssertEqual(h.nonInteger.first?.extendedJSON, "null", "most frequent first")
        XCTAssertEqual(h.total, Self.oddDocuments.count)
        XCTAssertEqual(h.unexpected, 4 + 7)
    }

    func testUnknownAndNonIntegerVersionsHaveLinesOfTheirOwn() throws {
        let coll = try TestServer.freshDatabase("histogram_odd").collection("c")
        try coll.insertMany(Self.oddDocuments)
        let lens = try Self.lens(collection: "c", field: "v", versions: 0...2)
        let scanned = try VersionHistogram.read(coll, lens: lens)
        checkOdd(scanned)

        try coll.createIndexes([["key": ["v": -1, "_id": 1], "name": "v_desc"]])
        checkOdd(try VersionHistogram.read(coll, lens: lens))
        let indexed = try Self.probes(coll, lens: lens)
        checkOdd(indexed)

        let table = indexed.table()
        XCTAssertTrue(table.contains("UNKNOWN"), table)
        XCTAssertTrue(table.contains("\"2\""), table)
        XCTAssertTrue(table.contains("NOT AN INTEGER (string)"), table)
        XCTAssertTrue(table.contains("total"), table)
        let json = try ExtendedJSON.parseDocument(ExtendedJSON.string(indexed.json))
        XCTAssertEqual(json["total"]?.exactInt, Int64(Self.oddDocuments.count))
        XCTAssertEqual(json["unknownVersions"]?.arrayValue?.count, 3)
        XCTAssertEqual(json["nonInteger"]?.arrayValue?.count, 6)
    }

    func testAMultikeyOrSparseIndexIsNotUsed() throws {
        let coll = try TestServer.freshDatabase("histogram_multikey").collection("c")
        try coll.insertMany([["_id": 1, "v": 1], ["_id": 2, "v": [1, 2]], ["_id": 3]])
        let lens = try Self.lens(collection: "c", field: "v", versions: 0...2)
        try coll.createIndexes([["key": ["v": 1], "name": "v_1"]])
        let h = try VersionHistogram.read(coll, lens: lens)
        guard case .groupScan(let reason) = h.strategy else { return XCTFail("\(h.strategy)") }
        XCTAssertTrue(reason.contains("multikey"), reason)
        XCTAssertEqual(h.counts, [0: 1, 1: 1, 2: 0])
        XCTAssertEqual(h.nonInteger.map(\.count), [1])
        XCTAssertThrowsError(try VersionHistogram.read(coll, lens: lens, strategy: .index)) { error in
            XCTAssertEqual((error as? StrataError)?.kind, .unsupported)
        }

        let sparse = try TestServer.freshDatabase("histogram_sparse").collection("c")
        try sparse.insertMany([["_id": 1, "v": 1], ["_id": 2]])
        try sparse.createIndexes([["key": ["v": 1], "name": "v_sparse", "sparse": true]])
        let hs = try VersionHistogram.read(sparse, lens: lens)
        XCTAssertFalse(hs.strategy.isIndexed, "a sparse index leaves out documents without the field")
        XCTAssertEqual(hs.counts, [0: 1, 1: 1, 2: 0])
    }

    func testAnEmptyOrMissingCollectionHasZeroCounts() throws {
        let coll = try TestServer.freshDatabase("histogram_empty").collection("nothing")
        let lens = try Self.lens(collection: "nothing", field: "v", absentMeans: 1, versions: 1...3)
        let h = try VersionHistogram.read(coll, lens: lens)
        XCTAssertEqual(h.counts, [1: 0, 2: 0, 3: 0])
        XCTAssertEqual(h.total, 0)
        XCTAssertTrue(h.table().contains("total"))
    }

    func testPercentAndGrouping() {
        XCTAssertEqual(VersionHistogram.grouped(0), "0")
        XCTAssertEqual(VersionHistogram.grouped(999), "999")
        XCTAssertEqual(VersionHistogram.grouped(1000), "1,000")
        XCTAssertEqual(VersionHistogram.grouped(1234567), "1,234,567")
        XCTAssertEqual(VersionHistogram.percent(0), "0.0%")
        XCTAssertEqual(VersionHistogram.percent(0.01), "<0.1%")
        XCTAssertEqual(VersionHistogram.percent(99.99), ">99.9%")
        XCTAssertEqual(VersionHistogram.percent(25.04), "25.0%")
        XCTAssertEqual(VersionHistogram.percent(100), "100.0%")
    }
}
