import Foundation
@testable import Strata
import Strata
import StrataBSON
import StrataEvaluator
import StrataLens
import StrataLibBSON
import StrataTestSupport
import XCTest

/// The planner's rules as pure functions, each with a fixture file of cases
/// (`Tests/StrataTests/Fixtures/rules/<rule>.json`): an array of objects, one block per
/// case, whose keys are, in order, `title` (a short sentence saying what the case shows,
/// unique in its file, named in a failure), the rule's inputs, and `expected` (the
/// rule's output). Values are relaxed Extended JSON (`{"$date": ...}`; query operators
/// such as `$type` as keys are fine); a case passes when the relaxed Extended JSON text of
/// the output equals that of `expected`. The expected outputs were produced by the rules
/// and read by a person; `STRATA_UPDATE_FIXTURES=1` rewrites them after a deliberate
/// change (then read the diff), keeping titles and inputs and writing `FixtureLayout`
/// (nested values indented two spaces, short ones on one line); a new case may be added
/// with a title and inputs only. `readers` names the test that reads each file, and
/// `testFixturesAreTitledAndEachIsRead` checks every file against it. Whether the
/// rewrites are *right* is what the differential tests check on the server.
final class PlannerRuleTests: XCTestCase {
    static let dir = TestServer.repositoryRoot.appendingPathComponent("Tests/StrataTests/Fixtures/rules")
    static let schemas = TestServer.repositoryRoot.appendingPathComponent("schemas")
    static var update: Bool { ProcessInfo.processInfo.environment["STRATA_UPDATE_FIXTURES"] == "1" }

    /// Each fixture file and the test that reads it: `check` asserts its caller is the one
    /// named here, and `testFixturesAreTitledAndEachIsRead` that the directory holds exactly
    /// these files — so a fixture no test reads fails, whichever tests run and in what order.
    static let readers: [String: String] = [
        "match.json": "testMatchRule()",
        "group.json": "testGroupRule()",
        "sort.json": "testSortRule()",
        "sort-kept.json": "testSortKeptThrough()",
        "server-profile.json": "testServerProfilePlans()",
        "fetch-as-find.json": "testFetchAsFind()",
        "index-shape.json": "testIndexShapeRule()",
        "dependencies.json": "testDependencyRule()",
        "materialize.json": "testMaterializeRule()",
        "monotone.json": "testMonotoneBounds()",
    ]

    /// The shipped lens, named by its path from the repository root: refusal messages in the
    /// expected stages name it, the same in every clone.
    func lens(_ name: String) throws -> Lens {
        try Lens.parse(String(contentsOf: Self.schemas.appendingPathComponent("\(name).json"), encoding: .utf8), file: "schemas/\(name).json")
    }

    /// Runs `rule` on every case of `file` (the case without its title and expected output)
    /// and compares with the case's `expected`. `function` must be the test that
    /// `readers` names for the file.
    func check(_ file: String, function: String = #function, _ rule: (Document) throws -> BSON) throws {
        XCTAssertEqual(Self.readers[file], function, "\(file) is read by \(function): say so in PlannerRuleTests.readers")
        let url = Self.dir.appendingPathComponent(file)
        var updated: [Document] = []
        for (i, doc) in try Self.cases(url).enumerated() {
            let title = doc["title"]?.stringValue ?? ""
            let input = Document(doc.filter { $0.key != "title" && $0.key != "expected" }.map { ($0.key, $0.value) })
            let got: BSON
            do { got = try rule(input) } catch {
                XCTFail("\(file) case \(i) “\(title)” throws: \(error)")
                throw error
            }
            if Self.update {
                updated.append(FixtureLayout.ordered(doc, expected: got))
            } else {
                let want = try XCTUnwrap(doc["expected"], "\(file) case \(i) “\(title)” has no expected output: run with STRATA_UPDATE_FIXTURES=1")
                // Relaxed text: the fixture file keeps values as relaxed Extended JSON.
                XCTAssertEqual(ExtendedJSON.string(got, mode: .relaxed), ExtendedJSON.string(want, mode: .relaxed),
                               "\(file) case \(i) “\(title)”: \(ExtendedJSON.string(.document(input)))")
            }
        }
        if Self.update {
            try FixtureLayout.file(updated).write(to: url, atomically: true, encoding: .utf8)
        }
    }

    /// The cases of a fixture file (relaxed Extended JSON; query operators such as `$type` as keys are fine).
    static func cases(_ url: URL) throws -> [Document] {
        let cases = try XCTUnwrap(ExtendedJSON.parseQueryValue(String(contentsOf: url, encoding: .utf8)).arrayValue,
                                  "\(url.lastPathComponent) is not an array of cases")
        return try cases.enumerated().map { i, c in try XCTUnwrap(c.documentValue, "\(url.lastPathComponent) case \(i) is not an object") }
    }

    /// Every fixture file is read by the test `readers` names (`check` asserts the other
    /// half), has cases, and each case a title of its own and an expected output; the
    /// file is in `FixtureLayout`.
    func testFixturesAreTitledAndEachIsRead() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.dir.path).filter { $0.hasSuffix(".json") }.sorted()
        XCTAssertEqual(files, Self.readers.keys.sorted(),
                       "the rules fixtures on disk and those PlannerRuleTests.readers names (the files some test reads) differ")
        for file in files {
            let url = Self.dir.appendingPathComponent(file)
            let cases = try Self.cases(url)
            XCTAssertFalse(cases.isEmpty, "\(file) has no cases")
            var titles: Set<String> = []
            for (i, c) in cases.enumerated() {
                let title = c["title"]?.stringValue ?? ""
                XCTAssertFalse(title.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty,
                               "\(file) case \(i) needs a title: a short sentence saying what it shows")
                if !Self.update { // (while updating, the rules write it)
                    XCTAssertNotNil(c["expected"], "\(file) case \(i) “\(title)” has no expected output: run with STRATA_UPDATE_FIXTURES=1")
                }
                XCTAssertTrue(titles.insert(title).inserted, "\(file): more than one case is titled “\(title)”")
            }
            // (Not while updating: the other tests may not have rewritten the file yet.)
            if !Self.update {
                let text = try String(contentsOf: url, encoding: .utf8)
                XCTAssertTrue(text == FixtureLayout.file(cases), "\(file) is not in the fixture layout: STRATA_UPDATE_FIXTURES=1 rewrites it")
            }
        }
    }

    func scope(_ c: Document) throws -> VersionScope {
        VersionScope(lens: try lens(c["collection"]!.stringValue!), version: Int(c["version"]!.exactInt!))
    }

    func testMatchRule() throws {
        try check("match.json") { c in
            let scope = try self.scope(c)
            let mr = MatchRule.rewrite(try Query.parse(c["filter"]!.documentValue!), in: scope)
            let lens = scope.lens
            var out: Document = [:]
            if mr.alwaysFalse { out["alwaysFalse"] = true; return .document(out) }
            out["stages"] = .array(MatchStages.leadingStages(version: lens.filter(forVersion: scope.version), pushdown: mr.pushdown)
                + MatchStages.temporaryStages(mr, versionGuard: lens.versionExpression(scope.version)))
            out["pushdownIsExact"] = .bool(mr.pushdownIsExact)
            out["needsUpgradedDocuments"] = .bool(mr.needsUpgradedDocuments)
            return .document(out)
        }
    }

    func testGroupRule() throws {
        try check("group.json") { c in
            let scope = try self.scope(c)
            let stage = try PipelineStages.parse([c["stage"]!], at: Location(path: "pipeline"))[0]
            let plan = try XCTUnwrap(GroupPlan.make(stage))
            let partial = GroupRule.partial(plan, translate: { scope.translate($0)?.expr }, translateSort: { SortRule.translate($0, in: scope) })
            var out: Document = ["partial": partial?.stage ?? .null, "post": .array(plan.post.map(\.bson))]
            if let raw = partial?.rawKey { out["mergerKey"] = raw.key.bson }
            return .document(out)
        }
    }

    func testSortRule() throws {
        try check("sort.json") { c in
            let scope = try self.scope(c)
            let pattern = try SortPattern.parse(c["sort"]!.documentValue!, at: Location())
            return SortRule.translate(pattern, in: scope)?.bson ?? .null
        }
    }

    func testSortKeptThrough() throws {
        try check("sort-kept.json") { c in
            let stages = try PipelineStages.parse(c["stages"]!.arrayValue!, at: Location(path: "pipeline"))
            let pattern = try SortPattern.parse(c["sort"]!.documentValue!, at: Location())
            return .bool(SortRule.keptThrough(stages, paths: pattern.components.map(\.path)))
        }
    }

    /// Whole plans as each server profile gets them (the branches' commands and notes):
    /// SecantusDB streams a filter no index serves into Swift, without a projection and
    /// without pushing a limit past it; mongod runs every version's rewrite on the server,
    /// one `$or` arm per distinct rewrite.
    func testServerProfilePlans() throws {
        try check("server-profile.json") { c in
            let lens = try self.lens(c["collection"]!.stringValue!)
            let profile: ServerProfile = c["profile"]?.stringValue == "secantus" ? .secantus : .mongod
            let plan = try Planner(lens: lens, profile: profile)
                .plan(QuerySpec(collection: lens.collection, pipeline: c["pipeline"]!.arrayValue!))
            return ["mode": .string("\(plan.mode)"), "shards": .array(plan.branches.map { .document($0.explainDocument) })]
        }
    }

    /// Fetches sent as `find` exactly when `find` does the same (null: an aggregate).
    func testFetchAsFind() throws {
        try check("fetch-as-find.json") { c in
            guard let (filter, options) = FetchAsFind.find(c["pipeline"]!.arrayValue!) else { return .null }
            return ["filter": .document(filter), "options": .document(options.document)]
        }
    }

    /// The leading stages for a branch over `versions` of `collection`, with the
    /// indexes `strata index` creates (or `indexes`, as listIndexes lists them).
    func testIndexShapeRule() throws {
        try check("index-shape.json") { c in
            let lens = try self.lens(c["collection"]!.stringValue!)
            let versions = c["versions"]!.arrayValue!.compactMap(\.exactInt).map { Int($0) }
            let candidates = c["indexes"]?.arrayValue.map {
                IndexShapeRule.candidates(fromIndexes: $0.compactMap(\.documentValue), versionField: lens.versionField)
            } ?? IndexShapeRule.candidates(LensIndexPlan(lens: lens))
            let pushdown = try Query.parse(c["pushdown"]!.documentValue!)
            let strict = c["strict"]?.boolValue ?? false
            return .array(IndexShapeRule.leadingStages(versions: versions, pushdown: [pushdown],
                                                       versionFilter: lens.filter(forVersions: versions, strict: strict), lens: lens,
                                                       candidates: candidates, strict: strict))
        }
    }

    func testDependencyRule() throws {
        try check("dependencies.json") { c in
            switch Dependencies.of(try Pipeline.parse(c["stages"]!.arrayValue!, at: Location(path: "pipeline")).stages) {
            case .all: return "all"
            case .fields(let f): return .array(f.sorted().map { .string($0) })
            }
        }
    }

    func testMaterializeRule() throws {
        try check("materialize.json") { c in
            let scope = try self.scope(c)
            let fields = Set(c["fields"]!.arrayValue!.compactMap(\.stringValue))
            return MaterializeRule.project(fields, in: scope).map { .array($0) } ?? .string(Self.relativePaths(MaterializeRule.whyNot(.fields(fields), in: scope)))
        }
    }

    /// Messages name the lens file by its absolute path; the fixture keeps it relative to
    /// the repository, so it holds in any clone.
    static func relativePaths(_ message: String) -> String {
        message.replacingOccurrences(of: TestServer.repositoryRoot.path + "/", with: "")
    }

    func testMonotoneBounds() throws {
        try check("monotone.json") { c in
            let scope = try self.scope(c)
            let path = c["path"]!.stringValue!
            let preds: [FieldPredicate]
            if case .field(_, let p) = try Query.parse([path: c["filter"]!]) { preds = p } else { preds = [] }
            let superset = MonotoneBounds.superset(for: preds, source: scope.monotoneSource(of: Query.components(path)))
            return superset.map { .document($0.bson) } ?? .null
        }
    }

    /// The bounds are sound: every stored value the superset excludes converts to a
    /// value the predicate rejects (checked over a sweep of stored values).
    func testMonotoneSupersetsNeverExcludeAMatch() throws {
        let devices = try lens("devices")
        let scope = VersionScope(lens: devices, version: 1)
        let source = try XCTUnwrap(scope.monotoneSource(of: ["reading", "tempC"]))
        for c in [-40.0, 0, 10, 20, 29.999999999999996, 30, 30.000000000000004, 37.7, 100] {
            for (pred, holds) in [(FieldPredicate.gte(.double(c)), { (x: Double) in x >= c }),
                                  (.gt(.double(c)), { $0 > c }), (.lte(.double(c)), { $0 <= c }),
                                  (.lt(.double(c)), { $0 < c }), (.eq(.double(c)), { $0 == c })] {
                let superset = try XCTUnwrap(MonotoneBounds.superset(for: [pred], source: source), "\(pred)")
                var f = -50.0
                while f <= 250 {
                    let tempC = (f - 32) * 5 / 9
                    if holds(tempC) {
                        XCTAssertTrue(try superset.matches(["reading": ["tempF": .double(f)]]), "\(pred) excludes \(f)°F = \(tempC)°C")
                    }
                    f += 0.1
                    f = (f * 10).rounded() / 10
                }
            }
        }
    }
}

/// The layout of the rule fixtures, which `STRATA_UPDATE_FIXTURES=1` writes: an array with
/// one block per case, its keys in the order title, inputs, expected; nested values
/// indented by two spaces, and an object or array on one line when it fits in `width`
/// columns. Values are relaxed Extended JSON, as libbson writes them.
enum FixtureLayout {
    static let width = 100

    /// A case with its keys in order: title (empty when it has none: write one), the
    /// inputs as they were, `expected`.
    static func ordered(_ c: Document, expected: BSON) -> Document {
        Document([("title", c["title"] ?? .string(""))]
            + c.filter { $0.key != "title" && $0.key != "expected" }.map { ($0.key, $0.value) }
            + [("expected", expected)])
    }

    static func file(_ cases: [Document]) -> String {
        let blocks = cases.enumerated().map { i, c in
            render(.document(c), indent: "  ", lead: "", tail: i == cases.count - 1 ? "" : ",", broken: true)
        }
        return "[\n" + blocks.joined(separator: "\n") + "\n]\n"
    }

    static func key(_ k: String) -> String { ExtendedJSON.string(.string(k), mode: .relaxed) + ": " }

    /// `v` on one line.
    static func inline(_ v: BSON) -> String {
        switch v {
        case .document(let d): "{" + d.map { key($0.key) + inline($0.value) }.joined(separator: ", ") + "}"
        case .array(let a): "[" + a.map(inline).joined(separator: ", ") + "]"
        default: respaced(ExtendedJSON.string(v, mode: .relaxed))
        }
    }

    /// libbson's JSON (`{ "$date" : "…" }`) in the layout's spacing (`{"$date": "…"}`):
    /// outside strings, no blanks except one after each colon and comma.
    static func respaced(_ json: String) -> String {
        var out = ""
        var inString = false, escaped = false
        for ch in json {
            if inString {
                out.append(ch)
                if escaped { escaped = false } else if ch == "\\" { escaped = true } else if ch == "\"" { inString = false }
                continue
            }
            switch ch {
            case " ", "\n", "\t", "\r": continue
            case "\"": inString = true; out.append(ch)
            case ":", ",": out.append(ch); out.append(" ")
            default: out.append(ch)
            }
        }
        return out
    }

    /// `v` at `indent` after `lead` (its key, if any) and before `tail` (a comma, if any):
    /// on one line when it fits and `broken` is false, else one line per element.
    static func render(_ v: BSON, indent: String, lead: String, tail: String, broken: Bool = false) -> String {
        let line = indent + lead + inline(v) + tail
        let elements: [(lead: String, value: BSON)]
        let (open, close): (String, String)
        switch v {
        case .document(let d) where !d.isEmpty: elements = d.map { (key($0.key), $0.value) }; (open, close) = ("{", "}")
        case .array(let a) where !a.isEmpty: elements = a.map { ("", $0) }; (open, close) = ("[", "]")
        default: return line
        }
        if !broken && line.count <= width { return line }
        let lines = elements.enumerated().map { i, e in
            render(e.value, indent: indent + "  ", lead: e.lead, tail: i == elements.count - 1 ? "" : ",")
        }
        return ([indent + lead + open] + lines + [indent + close + tail]).joined(separator: "\n")
    }
}
