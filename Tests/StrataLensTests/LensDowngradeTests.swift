import Foundation
import StrataBSON
import StrataEvaluator
import StrataLens
import StrataTestFixtures
import XCTest

/// Down functions: what `strata seed`, `Seeder` and a rollback use to undo the steps a
/// lens cannot undo by itself.
final class LensDowngradeTests: XCTestCase {
    static let lensText = """
        {"collection": "accounts", "versionField": "v",
         "steps": [
           {"from": 0, "to": 1, "operations": [
             {"op": "custom", "function": "upper", "reads": ["name"], "writes": ["shout"]},
             {"op": "rename", "from": "n", "to": "count"}]},
           {"from": 1, "to": 2, "down": "dropLegacy", "operations": [{"op": "remove", "field": "legacy"}]}
         ]}
        """

    static let upper: LensFunctions.Function = { doc, reads, writes in
        guard case .string(let s)? = doc[reads[0][0]] else { throw StrataError.badInput("name is not a string") }
        doc[writes[0][0]] = .string(s.uppercased())
    }

    /// Without down functions the custom operation and the step with `down` block, each
    /// named with its place and what it needs; registering them unblocks.
    func testUndoBlockersNameTheStepAndWhatItNeeds() throws {
        let lens = try Lens.parse(Self.lensText, file: "accounts.json")
        let none = LensFunctions().registering("upper", Self.upper)
        let blockers = lens.undoBlockers(from: 2, to: 0, functions: none)
        XCTAssertEqual(blockers.map(\.location.description), ["accounts.json: steps[0].operations[0]", "accounts.json: steps[1].down"])
        XCTAssertTrue(blockers[0].needs.contains("register a down function named 'upper'"), blockers[0].needs)
        XCTAssertTrue(blockers[1].needs.contains("'dropLegacy'"), blockers[1].needs)
        XCTAssertEqual(lens.undoBlockers(from: 2, to: 1, functions: none).count, 1, "down to 1 needs only the step's")
        XCTAssertTrue(lens.undoBlockers(from: 1, to: 1, functions: none).isEmpty)

        let all = none.registeringDown("upper", { doc, _, writes in doc[writes[0][0]] = nil })
            .registeringDown("dropLegacy", { doc, _, _ in doc["legacy"] = "restored" })
        XCTAssertTrue(lens.undoBlockers(from: 2, to: 0, functions: all).isEmpty)
        XCTAssertThrowsError(try lens.downgrade(["_id": 1, "v": 2, "name": "ann", "shout": "ANN", "count": 3], to: 0,
                                                context: LensContext(functions: none))) { e in
            XCTAssertTrue("\(e)".contains("'dropLegacy', which is not registered"), "\(e)")
        }

        // Down: the step's function, then the operations reversed; the version field is strata's.
        let newest: Document = ["_id": 1, "v": 2, "name": "ann", "shout": "ANN", "count": 3]
        let context = LensContext(functions: all)
        let v1 = try lens.downgrade(newest, to: 1, context: context)
        XCTAssertNil(BSONComparison().difference(v1, ["_id": 1, "v": 1, "name": "ann", "shout": "ANN", "count": 3, "legacy": "restored"]))
        let v0 = try lens.downgrade(newest, to: 0, context: context)
        XCTAssertNil(BSONComparison().difference(v0, ["_id": 1, "name": "ann", "n": 3, "legacy": "restored"]))
        XCTAssertNil(BSONComparison().difference(try lens.upgrade(v0, context: context), newest), "back up exactly")

        // A down function's own error names the function and the document.
        let failing = all.registeringDown("upper", { _, _, _ in throw StrataError.badInput("no way") })
        XCTAssertThrowsError(try lens.downgrade(newest, to: 0, context: LensContext(functions: failing))) { e in
            XCTAssertTrue("\(e)".contains("down function 'upper': no way") && "\(e)".contains("_id 1"), "\(e)")
        }
    }

    /// `down` is checked at load: a string, not empty.
    func testStepDownIsCheckedAtLoad() {
        for (bad, expected) in [(#""down": 3"#, "down"), (#""down": """#, "must not be empty")] {
            let text = #"{"collection": "c", "versionField": "v", "steps": [{"from": 0, "to": 1, %D%, "operations": [{"op": "rename", "from": "a", "to": "b"}]}]}"#
                .replacingOccurrences(of: "%D%", with: bad)
            XCTAssertThrowsError(try Lens.parse(text, file: "c.json")) { e in
                XCTAssertTrue("\(e)".contains("steps[0].down") && "\(e)".contains(expected), "\(e)")
            }
        }
    }
}
