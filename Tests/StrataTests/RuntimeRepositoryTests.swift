import Foundation
@testable import Strata
import Strata
import StrataBSON
import StrataEvaluator
import StrataLens
import StrataLibBSON
import StrataTestFixtures
import StrataTestSupport
import XCTest

final class RuntimeRepositoryTests: XCTestCase {
    static let exact = BSONComparison()

    // MARK: reads

    /// Every stored version of every dataset reads back as its truth (find, and findOne by _id).
    func testEveryStoredVersionReadsBackNewest() throws {
        for dataset in ["users", "devices", "events"] {
            let d = try RuntimeFixture.load(dataset, count: 400, database: "rt_read_\(dataset)")
            let repo = try VersionedRepository(database: d.database, lens: d.lens, options: .init(writeBack: false))
            let all = try repo.find()
            XCTAssertEqual(all.count, d.truth.count, dataset)
            let truth = d.truthById
            var versions = Set<Int>()
            for v in all {
                if let sv = v.storedVersion { versions.insert(sv) }
                let t = try XCTUnwrap(truth[GroupKey(v.id!)])
                if let diff = Self.exact.difference(v.document, t) { return XCTFail("\(dataset) \(v.id!): \(diff)") }
                XCTAssertNil(v.writtenBack)
            }
            XCTAssertEqual(versions, Set(d.lens.knownVersions), "\(dataset): every version is stored")
            for stored in d.mixed.prefix(40) {
                let one = try XCTUnwrap(repo.findOne(byId: stored["_id"]!))
                XCTAssertNil(Self.exact.difference(one.document, truth[GroupKey(stored["_id"]!)]!), dataset)
                XCTAssertEqual(one.stored, stored)
            }
            // Nothing was written.
            XCTAssertNil(try RuntimeFixture.difference(d.collection, d.mixed))
        }
    }

    /// Filters, sorts and limits apply to the newest schema, whatever the stored version.
    func testFilterSortLimitOverTheNewestSchema() throws {
        let d = try RuntimeFixture.load("events", count: 400, database: "rt_filter")
        let repo = try VersionedRepository(database: d.database, lens: d.lens)
        let want = d.truth.filter { $0["kind"] == "purchase" && ($0.value(atPath: "amount.value")?.doubleValue ?? 0) > 10 }
            .sorted { ($0.value(atPath: "amount.value")!.doubleValue!, $0["_id"]!.exactInt!) > ($1.value(atPath: "amount.value")!.doubleValue!, $1["_id"]!.exactInt!) }
        XCTAssertGreaterThan(want.count, 5)
        let got = try repo.find(["kind": "purchase", "amount.value": ["$gt": 10]], sort: ["amount.value": -1, "_id": -1], skip: 2, limit: 3)
        XCTAssertEqual(got.map { $0.id! }, want.dropFirst(2).prefix(3).map { $0["_id"]! })
        let unsorted = try repo.find(["kind": "purchase"], limit: 4)
        XCTAssertEqual(unsorted.count, 4)
        XCTAssertTrue(unsorted.allSatisfy { $0.document["kind"] == "purchase" })
    }

    /// A projection that leaves out what the upgrade reads still upgrades right: the
    /// password hash needs name, lastName and the plain password of a v0 user.
    func testProjectionThatOmitsUpgradeInputs() throws {
        let d = try RuntimeFixture.load("users", count: 300, database: "rt_projection")
        let repo = try VersionedRepository(database: d.database, lens: d.lens, options: .init(writeBack: false))
        let truth = d.truthById
        for (projection, keys) in [(["password": 1] as Document, ["_id", "password"]),
                                   (["name.first": 1, "_id": 0], ["name"]),
                                   (["contacts": 1, "address.country": 1], ["_id", "contacts", "address"]),
                                   (["signedUpAt": 1, "schema_version": 1], ["_id", "signedUpAt", "schema_version"])] {
            let got = try repo.find(projection: projection)
            XCTAssertEqual(got.count, 300)
            let p = try Projection.parseFind(projection)
            for v in got {
                XCTAssertTrue(v.isProjected)
                XCTAssertNil(v.stored, "a projected read cannot be saved")
                XCTAssertEqual(Set(v.document.keys), Set(keys), "\(projection)")
                let id = v.id ?? d.mixed.first { _ in false }?["_id"]
                if let id {
                    let expected = try p.apply(to: truth[GroupKey(id)]!)
                    if let diff = Self.exact.difference(v.document, expected) { return XCTFail("\(projection) \(id): \(diff)") }
                }
            }
            // name.first without _id: compare as a multiset.
            if projection["_id"] == .int32(0) {
                let want = try d.truth.map { try p.apply(to: $0) }.map { ExtendedJSON.string($0) }.sorted()
                XCTAssertEqual(got.map { ExtendedJSON.string($0.document) }.sorted(), want)
            }
        }
        // The fetch asks for what the upgrade needs, not the whole document.
        let fetch = try XCTUnwrap(UpgradeInputs.fetchProjection(d.lens, projection: try Projection.parseFind(["password": 1]), query: nil,
                                                                sort: nil, versions: d.lens.knownVersions))
        XCTAssertEqual(Set(fetch.keys), ["_id", "name", "lastName", "password", "schema_version"])
        let events = try RuntimeFixture.lens("events")
        let ef = try XCTUnwrap(UpgradeInputs.fetchProjection(events, projection: try Projection.parseFind(["kind": 1, "amount.value": 1]),
                                                             query: nil, sort: nil, versions: events.knownVersions))
        // `amount` whole, not `amount.value`: the conversion that writes it refuses a document
        // already holding an `amount` (its guard looks at it), and so must the partial read.
        XCTAssertEqual(Set(ef.keys), ["_id", "v", "kind", "type", "amount", "amountCents"])
        // A projection of a projected read cannot be saved.
        XCTAssertThrowsError(try repo.save(try XCTUnwrap(repo.find(projection: ["password": 1]).first))) { e in
            XCTAssertEqual((e as? StrataError)?.kind, .badInput)
        }
    }

    // MARK: writes

    /// Saving a document read at an old version replaces it whole: no old field stays.
    func testSaveAfterReadingOldLeavesNoOldField() throws {
        let d = try RuntimeFixture.load("users", count: 300, database: "rt_save")
        let repo = try VersionedRepository(database: d.database, lens: d.lens, options: .init(writeBack: false))
        let truth = d.truthById
        var saved = 0
        for stored in d.mixed where d.lens.storedVersion(of: stored) != .known(3) {
            var v = try XCTUnwrap(repo.findOne(byId: stored["_id"]!))
            v.document["logins"] = .int32(9999)
            try repo.save(v)
            let now = try XCTUnwrap(d.collection.findOne(["_id": stored["_id"]!]))
            var expected = truth[GroupKey(stored["_id"]!)]!
            expected["logins"] = .int32(9999)
            if let diff = Self.exact.difference(now, expected) { return XCTFail("\(stored["_id"]!): \(diff)") }
            for old in ["lastName", "phonenumber", "signup", "country"] { XCTAssertNil(now[old], "\(old) stayed behind") }
            saved += 1
            if saved == 60 { break }
        }
        XCTAssertEqual(saved, 60)
        // insert writes the newest version, stamped.
        let inserted = try repo.insert(["_id": 100_000, "name": ["first": "Zoë", "last": "Q"], "password": "00000000", "contacts": [],
                                        "address": ["country": "FR"], "signedUpAt": .date(0), "logins": 0])
        XCTAssertEqual(inserted.document["schema_version"], .int32(3))
        XCTAssertEqual(try d.collection.findOne(["_id": 100_000])?["schema_version"], .int32(3))
        let noId = try repo.insert(["name": ["first": "A", "last": "B"]])
        XCTAssertNotNil(noId.id)
        XCTAssertEqual(try repo.findOne(byId: noId.id!)?.document["name"], ["first": "A", "last": "B"])
    }

    /// A save whose document changed since it was read writes nothing and says so.
    func testSaveAfterAConcurrentChangeIsAConflict() throws {
        let d = try RuntimeFixture.load("events", count: 200, database: "rt_conflict")
        let repo = try VersionedRepository(database: d.database, lens: d.lens)
        let old = try XCTUnwrap(d.mixed.first { d.lens.storedVersion(of: $0) == .known(0) })
        var v = try XCTUnwrap(repo.findOne(byId: old["_id"]!))
        // Someone else changes it, without changing its version...
        try d.collection.updateMany(["_id": old["_id"]!], ["$set": ["region": "moon"]])
        v.document["user"] = 1
        XCTAssertThrowsError(try repo.save(v)) { e in XCTAssertEqual((e as? StrataError)?.kind, .conflict, "\(e)") }
        let now = try XCTUnwrap(d.collection.findOne(["_id": old["_id"]!]))
        XCTAssertEqual(now["region"], "moon", "the other write stays")
        XCTAssertNil(now["v"], "nothing was written")
        // ...or only the type of a number (1 == 1.0 to the server's equality; the size differs).
        var w = try XCTUnwrap(repo.findOne(byId: old["_id"]!))
        let cents = try XCTUnwrap(now["amountCents"]?.exactInt)
        try d.collection.updateMany(["_id": old["_id"]!], ["$set": ["amountCents": .double(Double(cents))]])
        w.document["user"] = 2
        XCTAssertThrowsError(try repo.save(w)) { e in XCTAssertEqual((e as? StrataError)?.kind, .conflict, "\(e)") }
        // Read again, save: fine; saving the same read twice: the second is a no-op.
        var x = try XCTUnwrap(repo.findOne(byId: old["_id"]!))
        x.document["user"] = 3
        let saved = try repo.save(x)
        XCTAssertEqual(try repo.save(saved).document, saved.document)
        XCTAssertEqual(try d.collection.findOne(["_id": old["_id"]!])?["user"], 3)
        // Deleting a stale read is refused; a fresh one works.
        XCTAssertThrowsError(try repo.delete(x))
        try repo.delete(try XCTUnwrap(repo.findOne(byId: old["_id"]!)))
        XCTAssertNil(try repo.findOne(byId: old["_id"]!))
    }

    // MARK: write-back

    /// devices: 0→1 is a lookup (whenExpensive: written back at v1), 1→2 is cheap (not).
    /// users: 1→2 hashes the password (custom: written back at v2), 2→3 is cheap.
    func testWriteBackWritesExactlyTheStepsItShould() throws {
        let devices = try RuntimeFixture.load("devices", count: 200, database: "rt_wb_devices")
        try checkWriteBack(devices, expected: [0: 1, 1: nil, 2: nil])
        let users = try RuntimeFixture.load("users", count: 200, database: "rt_wb_users")
        try checkWriteBack(users, expected: [0: 2, 1: 2, 2: nil, 3: nil])
        // Policies from the lens file: never on the lookup, always on events' last step.
        let never = try Lens.parse(try String(contentsOf: RuntimeFixture.schemas.appendingPathComponent("devices.json"), encoding: .utf8)
            .replacingOccurrences(of: "\"from\": 0, \"to\": 1,", with: "\"from\": 0, \"to\": 1, \"writeBack\": \"never\","))
        XCTAssertEqual(never.steps[0].writeBack, .never)
        let devices2 = try RuntimeFixture.load("devices", count: 200, database: "rt_wb_devices_never")
        try checkWriteBack(devices2, lens: never, expected: [0: nil, 1: nil, 2: nil])
        let always = try Lens.parse(try String(contentsOf: RuntimeFixture.schemas.appendingPathComponent("events.json"), encoding: .utf8)
            .replacingOccurrences(of: "\"from\": 1, \"to\": 2,", with: "\"from\": 1, \"to\": 2, \"writeBack\": \"always\","))
        let events = try RuntimeFixture.load("events", count: 200, database: "rt_wb_events")
        try checkWriteBack(events, lens: always, expected: [0: 2, 1: 2, 2: nil, 3: nil])
    }

    func checkWriteBack(_ d: RuntimeFixture.Loaded, lens: Lens? = nil, expected: [Int: Int?]) throws {
        let lens = lens ?? d.lens
        let repo = try VersionedRepository(database: d.database, lens: lens)
        let truth = d.truthById
        var seen = Set<Int>()
        for stored in d.mixed {
            guard case .known(let version) = lens.storedVersion(of: stored), !seen.contains(version) else { continue }
            seen.insert(version)
            let want = expected[version]!
            XCTAssertEqual(lens.writeBackVersion(from: version), want, "\(lens.collection) v\(version)")
            let v = try XCTUnwrap(repo.findOne(byId: stored["_id"]!))
            XCTAssertEqual(v.writtenBack, want, "\(lens.collection) v\(version)")
            XCTAssertNil(Self.exact.difference(v.document, truth[GroupKey(stored["_id"]!)]!))
            let now = try XCTUnwrap(d.collection.findOne(["_id": stored["_id"]!]))
            if let want {
                let expectedStored = try lens.upgrade(stored, to: want, context: v.stored == nil ? LensContext() : repo.context())
                XCTAssertNil(Self.exact.difference(now, expectedStored), "\(lens.collection) v\(version) written back at v\(want)")
                XCTAssertEqual(v.stored, now, "the read's guard is the written-back document")
                // Read again: already there, nothing more to write.
                XCTAssertNil(try repo.findOne(byId: stored["_id"]!)?.writtenBack)
            } else {
                XCTAssertEqual(now, stored, "\(lens.collection) v\(version) not written")
            }
        }
        XCTAssertEqual(seen, Set(expected.keys))
    }
}
