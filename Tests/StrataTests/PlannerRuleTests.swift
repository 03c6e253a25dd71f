import Foundation
@testable import Strata
import Strata
import StrataBSON
import StrataEvaluator
import StrataLens
import StrataLibBSON
import StrataTestSupport
import XCTest

/// The planner's rules as pure functions, each with a fixture file of inputs and
/// expected outputs (`Tests/StrataTests/Fixtures/rules/<rule>.json`). The expected
/// outputs were produced by the rules and read by a person; `STRATA_UPDATE_FIXTURES=1`
/// rewrites them after a deliberate change (then read the diff). Whether the
/// rewrites are *right* is what the differential tests check on the server.
final class PlannerRuleTests: XCTestCase {
    static let dir = TestServer.repositoryRoot.appendingPathComponent("Tests/StrataTests/Fixtures/rules")
    static let schemas = TestServer.repositoryRoot.appendingPathComponent("schemas")
    static var update: Bool { ProcessInfo.processInfo.environment["STRATA_UPDATE_FIXTURES"] == "1" }

    /// The shipped lens, named by its path from the repository root: refusal messages in the
    /// expected stages name it, the same in every clone.
    func lens(_ name: String) throws -> Lens {
        try Lens.parse(String(contentsOf: Self.schemas.appendingPathComponent("\(name).json"), encoding: .utf8), file: "schemas/\(name).json")
    }

    /// Runs `rule` on every case of `file` and compares with the case's `expected`.
    func check(_ file: String, _ rule: (Document) throws -> BSON) throws {
        let url = Self.dir.appendingPathComponent(file)
        let cases = try XCTUnwrap(ExtendedJSON.parseQueryValue(String(contentsOf: url, encoding: .utf8)).arrayValue)
        var updated: [BSON] = []
        for (i, c) in cases.enumerated() {
            var doc = try XCTUnwrap(c.documentValue)
            let input = Document(doc.filter { $0.key != "expected" }.map { ($0.key, $0.value) })
            let got = try rule(input)
            if Self.update {
                doc["expected"] = got
            } else {
                let want = try XCTUnwrap(doc["expected"], "\(file) case \(i) has no expected output: run with STRATA_UPDATE_FIXTURES=1")
                // Relaxed text: the fixture file keeps values as relaxed Extended JSON.
                XCTAssertEqual(ExtendedJSON.string(got, mode: .relaxed), ExtendedJSON.string(want, mode: .relaxed),
                               "\(file) case \(i): \(ExtendedJSON.string(.document(input)))")
            }
            updated.append(.document(doc))
        }
        if Self.update {
            let text = "[\n" + updated.map { " " + ExtendedJSON.string($0) }.joined(separator: ",\n") + "\n]\n"
            try text.write(to: url, atomically: true, encoding: .utf8)
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
            var out: Document = ["partial": partial?.stage ?? .null, "post": .array(plan.post)]
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
            switch try Dependencies.of(c["stages"]!.arrayValue!, at: Location(path: "pipeline")) {
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
