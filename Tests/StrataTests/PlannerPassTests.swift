import StrataLibBSON
import Foundation
@testable import Strata
import StrataTestSupport
import XCTest

/// Each planner pass (`Planner.passes`, `Planner.singleCursorPasses`) on its own, the
/// way sqlglot tests its optimizer rules: a fixture file per pass
/// (`Tests/StrataTests/Fixtures/passes/<pass>.json`), a titled case per input. A case
/// runs the passes before the named one, then that pass, and its `expected` is what the
/// pass changed in the draft (`PlanDraft` as a document: `summary`): the keys it set or
/// changed, with their new values (null: removed). A pass that throws expects
/// `{"error": message}`. Inputs: `collection` (a shipped lens), `pipeline`, and
/// optionally `profile` ("secantus"; mongod otherwise), `indexes` (as listIndexes lists
/// them), `versionedCollections`, `singleCursor` (true: the single-cursor pass list).
/// Whole plans are checked by the rules fixture `server-profile.json` and, for their
/// answers, by the differential tests.
final class PlannerPassTests: XCTestCase {
    static let dir = TestServer.repositoryRoot.appendingPathComponent("Tests/StrataTests/Fixtures/passes")
    static let schemas = TestServer.repositoryRoot.appendingPathComponent("schemas")
    static var update: Bool { ProcessInfo.processInfo.environment["STRATA_UPDATE_FIXTURES"] == "1" }

    /// Every pass, by name, in the order of its list.
    static var allPasses: [PlannerPass] {
        var seen: Set<String> = []
        return (Planner.passes + Planner.singleCursorPasses).filter { seen.insert($0.name).inserted }
    }

    func lens(_ name: String) throws -> Lens {
        try Lens.parse(String(contentsOf: Self.schemas.appendingPathComponent("\(name).json"), encoding: .utf8), file: "schemas/\(name).json")
    }

    /// Every pass has a fixture file with titled cases, every fixture file names a pass,
    /// and each file is in `FixtureLayout`.
    func testEveryPassHasTitledCases() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.dir.path).filter { $0.hasSuffix(".json") }.sorted()
        XCTAssertEqual(files, Self.allPasses.map { "\($0.name).json" }.sorted(),
                       "the pass fixtures on disk and the planner's passes differ: each pass needs Fixtures/passes/<name>.json")
        for file in files {
            let text = try String(contentsOf: Self.dir.appendingPathComponent(file), encoding: .utf8)
            let cases = try XCTUnwrap(ExtendedJSON.parseQueryValue(text).arrayValue).compactMap(\.documentValue)
            XCTAssertFalse(cases.isEmpty, "\(file) has no cases")
            var titles: Set<String> = []
            for (i, c) in cases.enumerated() {
                let title = c["title"]?.stringValue ?? ""
                XCTAssertFalse(title.trimmingCharacters(in: .whitespaces).isEmpty, "\(file) case \(i) needs a title")
                XCTAssertTrue(titles.insert(title).inserted, "\(file): more than one case is titled “\(title)”")
                XCTAssertNotNil(c["expected"], "\(file) case \(i) “\(title)” has no expected output")
            }
            XCTAssertTrue(text == FixtureLayout.file(cases), "\(file) is not in the fixture layout: STRATA_UPDATE_FIXTURES=1 rewrites it")
        }
    }

    func testEachPass() throws {
        for pass in Self.allPasses {
            let url = Self.dir.appendingPathComponent("\(pass.name).json")
            guard FileManager.default.fileExists(atPath: url.path) else { continue } // testEveryPassHasTitledCases says so
            let cases = try XCTUnwrap(ExtendedJSON.parseQueryValue(String(contentsOf: url, encoding: .utf8)).arrayValue).compactMap(\.documentValue)
            var updated: [Document] = []
            for (i, c) in cases.enumerated() {
                let title = c["title"]?.stringValue ?? ""
                let got = try run(pass, c)
                if Self.update {
                    updated.append(FixtureLayout.ordered(c, expected: got))
                } else {
                    let want = try XCTUnwrap(c["expected"], "\(pass.name).json case \(i) “\(title)” has no expected output")
                    XCTAssertEqual(ExtendedJSON.string(got, mode: .relaxed), ExtendedJSON.string(want, mode: .relaxed),
                                   "\(pass.name).json case \(i) “\(title)”")
                }
            }
            if Self.update { try FixtureLayout.file(updated).write(to: url, atomically: true, encoding: .utf8) }
        }
    }

    /// What `pass` changes in the draft the passes before it build for case `c`.
    func run(_ pass: PlannerPass, _ c: Document) throws -> BSON {
        let lens = try lens(try XCTUnwrap(c["collection"]?.stringValue, "a case names its collection"))
        let planner = Planner(lens: lens,
                              versionedCollections: Set((c["versionedCollections"]?.arrayValue ?? []).compactMap(\.stringValue)),
                              profile: c["profile"]?.stringValue == "secantus" ? .secantus : .mongod,
                              indexes: c["indexes"]?.arrayValue?.compactMap(\.documentValue))
        let list = c["singleCursor"]?.boolValue == true ? Planner.singleCursorPasses : Planner.passes
        let at = try XCTUnwrap(list.firstIndex { $0.name == pass.name }, "\(pass.name) is not in the case's pass list")
        let query = try ParsedQuery(QuerySpec(collection: lens.collection, pipeline: try XCTUnwrap(c["pipeline"]?.arrayValue)))
        var draft = try planner.draft(query.stages, collection: lens.collection, passes: Array(list[..<at]))
        let before = Self.summary(draft, lens: lens)
        do {
            try pass.run(&draft, planner)
        } catch {
            return ["error": .string(PlannerRuleTests.relativePaths("\(error)"))]
        }
        let after = Self.summary(draft, lens: lens)
        var changed = Document()
        for (key, value) in after where before[key] != value { changed[key] = value }
        for (key, _) in before where after[key] == nil { changed[key] = .null }
        return .document(changed)
    }

    /// The draft as a document: only what some pass has set.
    static func summary(_ d: PlanDraft, lens: Lens) -> Document {
        var s = Document()
        switch d.choice {
        case .facets(let at)?: s["choice"] = .string("facets: the $facet at stage \(at)")
        case .partialGroups(let at, _, let split)?:
            s["choice"] = .string("partial groups: the group at stage \(at)")
            s["partialGroup"] = .document(split.partialGroup)
        case .recordOrder?: s["choice"] = "record order"
        case .sample(let at, let size)?: s["choice"] = .string("sample: \(size) documents, the $sample at stage \(at)")
        case nil: break
        }
        if !d.reason.isEmpty { s["reason"] = .string(d.reason) }
        if let join = d.versionedJoin { s["versionedJoin"] = ["at": .int32(Int32(join.at)), "from": .string(join.from)] }
        if !d.leading.isEmpty { s["leadingFilter"] = .document(d.filter.bson) }
        if !d.rewrites.isEmpty {
            s["rewrites"] = .array(zip(lens.knownVersions, d.rewrites).map { v, r in
                var doc: Document = ["version": .int32(Int32(v))]
                if r.alwaysFalse { doc["alwaysFalse"] = true; return .document(doc) }
                doc["pushdown"] = .array(r.pushdown.map { .document($0.bson) })
                doc["exact"] = .bool(r.pushdownIsExact)
                return .document(doc)
            })
        }
        if !d.branches.isEmpty { s["branches"] = .array(d.branches.map { .document($0.explainDocument) }) }
        if !d.withSumWidths.isEmpty {
            s["withSumWidths"] = .array(d.withSumWidths.map { .array($0.branches.map { .document($0.explainDocument) }) })
        }
        if d.streamedMerge { s["streamedMerge"] = true }
        if let sort = d.mergeSort { s["mergeSort"] = sort.bson }
        if let i = d.oneFetch { s["oneFetch"] = .int32(Int32(i)) }
        if !d.facets.isEmpty { s["facets"] = .document(Document(d.facets.map { ($0.name, .document($0.plan.explainDocument)) })) }
        if !d.sampledInSwift.isEmpty { s["sampledInSwift"] = .array(d.sampledInSwift.sorted().map { .int32(Int32($0)) }) }
        if let fields = d.readsFields { s["readsFields"] = .array(fields.sorted().map { .string($0) }) }
        return s
    }
}
