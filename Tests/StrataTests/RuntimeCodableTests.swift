import Foundation
@testable import Strata
import Strata
import StrataEvaluator
import StrataTestFixtures
import StrataTestSupport
import XCTest

final class RuntimeCodableTests: XCTestCase {
    struct User: Codable, Sendable, Equatable {
        struct Name: Codable, Sendable, Equatable { var first: String; var last: String }
        struct Contact: Codable, Sendable, Equatable { var method: String; var value: String }
        var _id: Int
        var name: Name
        var contacts: [Contact]
        var signedUpAt: Date
        var logins: Int
        var nickname: String?
    }

    func testTypedModelsReadSaveAndInsert() throws {
        let d = try RuntimeFixture.load("users", count: 200, database: "rt_codable")
        let users = TypedRepository<User>(try VersionedRepository(database: d.database, lens: d.lens))
        let truth = d.truthById
        let old = try XCTUnwrap(d.mixed.first { d.lens.storedVersion(of: $0) == .known(0) && $0["phonenumber"] != nil && $0["phonenumber"] != .null })
        var u = try XCTUnwrap(users.findOne(byId: old["_id"]!))
        let t = truth[GroupKey(old["_id"]!)]!
        XCTAssertEqual(u.value.name.first, t.value(atPath: "name.first")?.stringValue)
        XCTAssertEqual(u.value.contacts.first?.method, "phone")
        guard case .date(let ms)? = t["signedUpAt"] else { return XCTFail("signedUpAt") }
        XCTAssertEqual(u.value.signedUpAt, Date(timeIntervalSince1970: Double(ms) / 1000))
        XCTAssertNil(u.value.nickname)

        u.value.logins += 1
        u.value.nickname = "ziggy"
        u = try users.save(u)
        var expected = t
        expected["logins"] = .int32(Int32(t["logins"]!.exactInt! + 1))
        expected["nickname"] = "ziggy"
        XCTAssertNil(BSONComparison().difference(try XCTUnwrap(d.collection.findOne(["_id": old["_id"]!])), expected),
                     "fields the model does not declare (password, address, schema_version) are kept")
        u.value.nickname = nil
        try users.save(u)
        XCTAssertNil(BSONComparison().difference(try XCTUnwrap(d.collection.findOne(["_id": old["_id"]!])), { var e = expected; e["nickname"] = nil; return e }()),
                     "a declared field set to nil is removed")

        let new = User(_id: 9999, name: .init(first: "Zoë", last: "Ng"), contacts: [], signedUpAt: Date(timeIntervalSince1970: 86_400),
                       logins: 0, nickname: nil)
        let inserted = try users.insert(new)
        XCTAssertEqual(inserted.value, new)
        let stored = try XCTUnwrap(d.collection.findOne(["_id": 9999]))
        XCTAssertEqual(stored["schema_version"], .int32(3))
        XCTAssertEqual(stored["signedUpAt"], .date(86_400_000))
        XCTAssertEqual(stored["logins"], .int32(0))
        XCTAssertNil(stored["nickname"])
        XCTAssertEqual(try users.find(["name.last": "Ng"]).map(\.value), [new])

        // A document that does not fit the model says which and where.
        try d.collection.insertOne(["_id": 10_000, "schema_version": 3, "name": ["first": 5, "last": "x"], "contacts": [],
                                    "signedUpAt": .date(0), "logins": 1])
        XCTAssertThrowsError(try users.findOne(byId: 10_000)) { e in
            XCTAssertTrue("\(e)".contains("name.first"), "\(e)")
        }
    }

    func testRoundTripKeepsTypes() throws {
        struct Inner: Codable, Equatable { var x: Double; var tags: [String]; var flag: Bool? }
        struct Outer: Codable, Equatable { var a: Int; var big: Int64; var small: Int32; var d: Double; var inner: Inner; var list: [Inner]; var opt: Int?; var data: Data }
        let v = Outer(a: 1, big: 1 << 40, small: -3, d: 1.0, inner: .init(x: 0.1, tags: ["t"], flag: true),
                      list: [.init(x: 2, tags: [], flag: nil)], opt: nil, data: Data([1, 2]))
        let doc = try BSONEncoder().encode(v)
        XCTAssertEqual(doc["a"], .int32(1))
        XCTAssertEqual(doc["big"], .int64(1 << 40))
        XCTAssertEqual(doc["d"], .double(1))
        XCTAssertNil(doc["opt"])
        XCTAssertNil(doc.value(atPath: "list")?.arrayValue?.first?.documentValue?["flag"])
        XCTAssertEqual(try BSONDecoder().decode(Outer.self, from: doc), v)
        let merged = try BSONEncoder().encode(v, over: ["a": 0, "opt": 5, "extra": "kept", "inner": ["x": 9.0, "more": 1]])
        XCTAssertEqual(merged["extra"], "kept")
        XCTAssertNil(merged["opt"])
        XCTAssertEqual(merged.value(atPath: "inner.more"), 1)
        XCTAssertEqual(merged.value(atPath: "inner.x"), .double(0.1))
    }
}
