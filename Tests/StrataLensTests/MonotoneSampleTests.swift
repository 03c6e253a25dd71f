import Foundation
import StrataLens
import StrataTestFixtures
import XCTest

/// A `monotone` claim is checked on sample inputs at load: a conversion that breaks the
/// claimed order on them is refused, naming the two inputs.
final class MonotoneSampleTests: XCTestCase {
    func lens(expr: String, monotone: String) -> String {
        """
        {"collection": "m", "versionField": "v", "steps": [{"from": 0, "to": 1, "operations": [
          {"op": "convert", "field": "x", "to": "y", "expr": \(expr), "inverse": {"$multiply": ["$$value", -1]}, "monotone": "\(monotone)"}]}]}
        """
    }

    func load(_ text: String) throws -> Lens {
        try Lens.parse(text, file: "m.json")
    }

    func testAReversingConversionClaimedIncreasingIsRefused() throws {
        XCTAssertThrowsError(try load(lens(expr: #"{"$multiply": ["$$value", -1]}"#, monotone: "increasing"))) { e in
            let text = "\(e)"
            XCTAssert(text.contains("steps[0].operations[0].monotone"), text)
            XCTAssert(text.contains("it is not increasing"), text)
        }
        XCTAssertNoThrow(try load(lens(expr: #"{"$multiply": ["$$value", -1]}"#, monotone: "decreasing")))
        XCTAssertNoThrow(try load(lens(expr: #"{"$multiply": ["$$value", 100]}"#, monotone: "increasing")))
        XCTAssertThrowsError(try load(lens(expr: #"{"$abs": "$$value"}"#, monotone: "increasing")))
        XCTAssertThrowsError(try load(lens(expr: #"{"$multiply": ["$$value", "$$value"]}"#, monotone: "decreasing")))
    }
}
