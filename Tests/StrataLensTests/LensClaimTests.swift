import Foundation
import StrataEvaluator
import StrataLens
import StrataTestFixtures
import XCTest

/// Claims a lens makes that the planner would otherwise trust: checked at load.
final class LensClaimTests: XCTestCase {
    static let schemas = FixturePaths.repositoryRoot.appendingPathComponent("schemas")

    func lens(convert: String) -> String {
        #"{"collection": "c", "versionField": "v", "steps": [{"from": 0, "to": 1, "operations": [%OP%]}]}"#
            .replacingOccurrences(of: "%OP%", with: #"{"op": "convert", "field": "price", "# + convert + "}")
    }

    func load(_ text: String) throws -> (Lens, URL) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("strata-claims-\(UUID())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let file = dir.appendingPathComponent("c.json")
        try text.write(to: file, atomically: true, encoding: .utf8)
        return (try Lens.load(contentsOf: file), file)
    }

    /// A conversion that can give another type class than it is given: a string is not
    /// ordered like its numbers ("10" < "9"), so a monotone claim would let the planner
    /// bound stored strings and drop documents. Refused at load, naming the place.
    func testMonotoneOnAConversionThatMayChangeTheTypeIsRefused() throws {
        let cases: [(String, String)] = [
            (#""expr": {"$toDouble": "$$value"}, "inverse": {"$toString": "$$value"}"#, "a string it gives a number"),
            (#""expr": {"$toInt": "$$value"}, "inverse": {"$toString": "$$value"}"#, "a string it gives a number"),
            (#""expr": {"$toLong": "$$value"}, "inverse": "$$value""#, "gives a number"),
            (#""expr": {"$toDecimal": "$$value"}, "inverse": "$$value""#, "gives a number"),
            (#""expr": {"$multiply": [{"$toDouble": "$$value"}, 100]}, "inverse": "$$value""#, "a string it gives a number"),
            (#""expr": {"$toDate": "$$value"}, "inverse": {"$toLong": "$$value"}"#, "a number it gives a date"),
            (#""expr": {"$toString": "$$value"}, "inverse": {"$toDouble": "$$value"}"#, "a number it gives a string"),
            (#""expr": {"$dateFromString": {"dateString": "$$value", "format": "%Y-%m-%d"}}, "inverse": {"$dateToString": {"date": "$$value", "format": "%Y-%m-%d"}}"#,
             "a string it gives a date"),
            // Cannot tell: refused too, saying so.
            (#""expr": {"$convert": {"input": "$$value", "to": "double"}}, "inverse": "$$value""#, "cannot tell"),
            (#""expr": {"$cond": [{"$isNumber": "$$value"}, "$$value", 0]}, "inverse": "$$value""#, "cannot tell"),
            (#""expr": {"$add": ["$$value", "$offset"]}, "inverse": "$$value""#, "cannot tell"),
            (#""expr": {"value": {"$toDouble": "$$value"}, "currency": "USD"}, "inverse": "$$value.value""#, "'expr.value'"),
        ]
        for (i, (convert, words)) in cases.enumerated() {
            for direction in ["increasing", "decreasing"] {
                let text = lens(convert: convert + #", "monotone": "\#(direction)""#)
                XCTAssertThrowsError(try load(text), "case \(i) \(direction) should be refused") { error in
                    guard let e = error as? StrataError else { return XCTFail("case \(i): \(error)") }
                    XCTAssertEqual(e.kind, .badInput, "case \(i)")
                    XCTAssertTrue(e.location?.file?.hasSuffix("c.json") == true, "case \(i): \(e)")
                    XCTAssertEqual(e.location?.path, "steps[0].operations[0].monotone", "case \(i): \(e)")
                    XCTAssertTrue(e.message.contains("monotone cannot be trusted"), "case \(i): \(e.message)")
                    XCTAssertTrue(e.message.contains(words), "case \(i): '\(e.message)' should mention '\(words)'")
                }
                // Without the claim the same conversion loads (and is answered exactly, without the index).
                XCTAssertNoThrow(try load(lens(convert: convert)), "case \(i) without monotone")
            }
        }
    }

    /// Conversions that keep the type class (or fail) keep their monotone claim.
    func testMonotoneOnConversionsThatKeepTheTypeIsAccepted() throws {
        let cases = [
            #""expr": {"$multiply": ["$$value", 2]}, "inverse": {"$divide": ["$$value", 2]}"#,
            #""expr": {"$divide": [{"$multiply": [{"$subtract": ["$$value", 32]}, 5]}, 9]}, "inverse": {"$add": [{"$divide": [{"$multiply": ["$$value", 9]}, 5]}, 32]}"#,
            #""expr": {"$add": ["$$value", 86400000]}, "inverse": {"$subtract": ["$$value", 86400000]}"#,
            #""expr": {"$dateAdd": {"startDate": "$$value", "unit": "hour", "amount": 2}}, "inverse": {"$dateSubtract": {"startDate": "$$value", "unit": "hour", "amount": 2}}"#,
            #""expr": {"value": {"$divide": ["$$value", 100]}, "currency": "USD"}, "inverse": {"$multiply": ["$$value.value", 100]}"#,
            #""expr": {"$round": [{"$multiply": ["$$value", 1.5]}, 2]}, "inverse": {"$divide": ["$$value", 1.5]}"#,
        ]
        for (i, convert) in cases.enumerated() {
            XCTAssertNoThrow(try load(lens(convert: convert + #", "monotone": "increasing""#)), "case \(i)")
        }
        // The shipped lenses' monotone claims (events' cents, devices' Fahrenheit) are of that kind.
        let devices = try Lens.load(collection: "devices", schemasDirectory: Self.schemas)
        XCTAssertNotNil(devices.monotoneSource(of: ["reading", "tempC"], atVersion: 1))
        let events = try Lens.load(collection: "events", schemasDirectory: Self.schemas)
        XCTAssertNotNil(events.monotoneSource(of: ["amount", "value"], atVersion: 0))
        // users' signup string → signedUpAt date no longer claims monotone (it changes the type).
        let users = try Lens.load(collection: "users", schemasDirectory: Self.schemas)
        XCTAssertNil(users.monotoneSource(of: ["signedUpAt"], atVersion: 2))
        XCTAssertNotNil(users.exactInverseSource(of: ["signedUpAt"], atVersion: 2))
    }

    /// A lens `lookup` is bound to the lens of its `from` when that collection has one
    /// (`VersionedLensLookupTests` reads through it and checks what cannot be bound); the
    /// shipped devices lens looks up products, which has none, and keeps its server stages.
    func testLookupsAreBoundToTheForeignLensOnlyWhenThereIsOne() throws {
        let devices = try Lens.load(collection: "devices", schemasDirectory: Self.schemas).bindingLookups(schemasDirectory: Self.schemas)
        let lookup = try XCTUnwrap(devices.steps[0].operations.compactMap { $0 as? LookupOperation }.first)
        XCTAssertEqual(lookup.from, "products")
        XCTAssertNil(lookup.foreign)
        XCTAssertNotNil(lookup.serverStages)
        XCTAssertEqual(Lens.versionedCollections(in: Self.schemas), ["accounts", "devices", "events", "users"])
    }
}
