import Foundation
import StrataBSON
import StrataLibBSON
import StrataMongo
import StrataTestFixtures
import StrataTestSupport
import XCTest

/// The conformance corpus (Tests/Fixtures/conformance, see its README): examples from
/// MongoDB's reference pages, each run through `strata run` two ways and compared with the
/// output the page prints, BSON types included.
///
/// - newest: the input as it is, under a lens with no steps (every document is at the
///   newest and only version);
/// - mixed: the input spread over versions 0, 1 and 2 of a generated lens that moves every
///   top-level field but `_id` (v0 stores `f` as `zq_f`; v1 nests them all under `zq_s`;
///   v2 is the example's shape), each document stored in its old shape.
final class ConformanceTests: XCTestCase {
    static let fixtures = TestServer.repositoryRoot.appendingPathComponent("Tests/Fixtures/conformance")
    static let versionField = "zq_version"
    static let prefix = "zq_"
    static let nestInto = "zq_s"

    struct Example: Sendable {
        var id: String
        var file: String
        var collection: String
        var documents: [Document]
        var foreign: [(String, [Document])]
        var pipeline: [BSON]
        var expected: [Document]
        var ordered: Bool
        var tolerance: Double
        var expectRefusal: String?
        var knownDivergence: [Mode: String]
        /// Top-level fields holding arrays whose order mongod does not define ($addToSet, set
        /// operators): compared as multisets.
        var setFields: [String]
        /// With `ordered`: the sort key's top-level fields. Results must come in the expected
        /// order of their keys; results that tie on them compare as multisets.
        var orderedBy: [String]
        /// Top-level fields left out of the results before comparing: only `_id` where the page
        /// inserts documents without one and leaves the generated ObjectId out of its output.
        var dropFromOutput: [String]
    }

    enum Mode: String, Sendable, CaseIterable { case newest, mixed }

    struct Outcome: Sendable {
        var example: Example
        var mode: Mode
        var status: Int32
        var stdout: String
        var stderr: String
    }

    enum Verdict { case pass, refusedAsExpected, knownDivergence(String), knownDivergenceNowAgrees, fail(String) }

    // MARK: loading

    static func loadCorpus() throws -> (examples: [Example], skipped: Int) {
        let files = try FileManager.default.contentsOfDirectory(at: fixtures, includingPropertiesForKeys: nil)
            .filter { $0.pathExtension == "json" }.sorted { $0.lastPathComponent < $1.lastPathComponent }
        var examples: [Example] = [], skipped = 0, ids = Set<String>()
        for url in files {
            let name = url.lastPathComponent
            let doc = try ExtendedJSON.parseQueryDocument(String(contentsOf: url, encoding: .utf8))
            guard let source = doc["source"]?.stringValue, !source.isEmpty else { throw TestSupportError("\(name): needs 'source'") }
            for k in doc.keys where !["source", "examples", "skipped", "description"].contains(k) {
                throw TestSupportError("\(name): unknown key '\(k)'")
            }
            for (i, s) in (doc["skipped"]?.arrayValue ?? []).enumerated() {
                guard let s = s.documentValue, s["example"]?.stringValue != nil, let r = s["reason"]?.stringValue, !r.isEmpty else {
                    throw TestSupportError("\(name): skipped[\(i)] needs 'example' and 'reason'")
                }
                skipped += 1
            }
            for (i, e) in (doc["examples"]?.arrayValue ?? []).enumerated() {
                let at = "\(name): examples[\(i)]"
                guard let e = e.documentValue else { throw TestSupportError("\(at): not an object") }
                let known = ["id", "collection", "documents", "foreign", "pipeline", "expected", "ordered", "tolerance", "expectRefusal",
                             "refusalReason", "knownDivergence", "knownDivergenceMixed", "setFields", "orderedBy", "dropFromOutput", "note"]
                for k in e.keys where !known.contains(k) { throw TestSupportError("\(at): unknown key '\(k)'") }
                guard let id = e["id"]?.stringValue, ids.insert(id).inserted else { throw TestSupportError("\(at): needs a unique 'id'") }
                guard let collection = e["collection"]?.stringValue,
                      let documents = e["documents"]?.arrayValue?.compactMap(\.documentValue),
                      let pipeline = e["pipeline"]?.arrayValue,
                      let expected = e["expected"]?.arrayValue?.compactMap(\.documentValue)
                else { throw TestSupportError("\(at) (\(id)): needs collection, documents, pipeline and expected") }
                let foreign = (e["foreign"]?.documentValue ?? [:]).map { ($0.key, $0.value.arrayValue?.compactMap(\.documentValue) ?? []) }
                var refusal: String?
                if e["expectRefusal"] == .bool(true) {
                    guard let r = e["refusalReason"]?.stringValue, !r.isEmpty else { throw TestSupportError("\(at) (\(id)): expectRefusal needs refusalReason") }
                    refusal = r
                }
                var divergence: [Mode: String] = [:]
                if let d = e["knownDivergence"]?.stringValue { divergence[.newest] = d; divergence[.mixed] = d }
                if let d = e["knownDivergenceMixed"]?.stringValue { divergence[.mixed] = d }
                for d in documents + foreign.flatMap(\.1) where d.keys.contains(where: { $0.hasPrefix(prefix) }) {
                    throw TestSupportError("\(at) (\(id)): a field starts with the generic lens's prefix \(prefix)")
                }
                examples.append(Example(id: id, file: name, collection: collection, documents: documents, foreign: foreign,
                                        pipeline: pipeline, expected: expected, ordered: e["ordered"] == .bool(true),
                                        tolerance: e["tolerance"]?.doubleValue ?? 1e-9, expectRefusal: refusal, knownDivergence: divergence,
                                        setFields: e["setFields"]?.arrayValue?.compactMap(\.stringValue) ?? [],
                                        orderedBy: e["orderedBy"]?.arrayValue?.compactMap(\.stringValue) ?? [],
                                        dropFromOutput: e["dropFromOutput"]?.arrayValue?.compactMap(\.stringValue) ?? []))
                if e["orderedBy"] != nil && e["ordered"] != .bool(true) { throw TestSupportError("\(at) (\(id)): orderedBy goes with ordered: true") }
            }
        }
        return (examples, skipped)
    }

    // MARK: the two shapes

    /// The top-level fields of the example's documents but `_id`, in order of first appearance.
    static func fieldNames(_ docs: [Document]) -> [String] {
        var seen = Set<String>(), out: [String] = []
        for d in docs { for k in d.keys where k != "_id" && seen.insert(k).inserted { out.append(k) } }
        return out
    }

    static func lens(_ example: Example, mode: Mode) -> String {
        switch mode {
        case .newest:
            let lens: Document = ["collection": .string(example.collection), "versionField": .string(versionField), "steps": .array([])]
            return ExtendedJSON.string(lens)
        case .mixed:
            let names = fieldNames(example.documents)
            let nest = Document(names.map { (prefix + $0, BSON.string($0)) })
            let unnest = Document(names.map { ($0, BSON.string($0)) })
            let lens: Document = [
                "collection": .string(example.collection), "versionField": .string(versionField), "absentMeans": 0,
                "steps": [
                    ["from": 0, "to": 1, "operations": [["op": "nest", "into": .string(nestInto), "fields": .document(nest)]]],
                    ["from": 1, "to": 2, "operations": [["op": "unnest", "from": .string(nestInto), "fields": .document(unnest)]]],
                ],
            ]
            return ExtendedJSON.string(lens)
        }
    }

    /// The document as stored at `version` (0, 1, 2) of the generic lens.
    static func stored(_ d: Document, version: Int) -> Document {
        var out: [(String, BSON)] = []
        if let id = d["_id"] { out.append(("_id", id)) }
        let rest = d.fields.filter { $0.key != "_id" }
        switch version {
        case 0:
            out += rest.map { (prefix + $0.key, $0.value) }
        case 1:
            out.append((versionField, 1))
            out.append((nestInto, .document(Document(rest.map { ($0.key, $0.value) }))))
        default:
            out.append((versionField, .int32(Int32(version))))
            out += rest.map { ($0.key, $0.value) }
        }
        return Document(out)
    }

    // MARK: running

    /// Loads every example into its own database (collections keep the page's names, so
    /// `$lookup`'s `from` needs no rewriting), writes its lens and query, and runs `strata run`
    /// on all of them, two at a time.
    static func run(_ examples: [Example], mode: Mode, folder: TempFolder) throws -> (outcomes: [Outcome], storedPerVersion: [Int]) {
        let pool = try TestServer.pool()
        var jobs: [(Example, String, URL, URL)] = []
        var perVersion = [0, 0, 0]
        for (i, e) in examples.enumerated() {
            let db = MongoDatabase(pool: pool, name: "strata_conf_\(mode.rawValue)_\(i)")
            try db.drop()
            for (name, docs) in e.foreign where !docs.isEmpty { _ = try db.collection(name).insertMany(docs) }
            // Round robin, starting at a different version per example, so that one-document
            // examples are stored at every version across the corpus.
            let docs = mode == .newest ? e.documents : e.documents.enumerated().map { stored($1, version: ($0 + i) % 3) }
            if !docs.isEmpty { _ = try db.collection(e.collection).insertMany(docs) }
            if mode == .mixed {
                // What the server holds, not what was meant to be written.
                let c = db.collection(e.collection)
                perVersion[0] += try c.countDocuments([versionField: ["$exists": false], prefix + "s": ["$exists": false]])
                perVersion[1] += try c.countDocuments([versionField: 1, nestInto: ["$exists": true]])
                perVersion[2] += try c.countDocuments([versionField: 2])
            }
            let schemas = try folder.write("\(mode.rawValue)/\(i)/schemas/\(e.collection).json", lens(e, mode: mode)).deletingLastPathComponent()
            let spec: Document = ["collection": .string(e.collection), "pipeline": .array(e.pipeline)]
            let query = try folder.write("\(mode.rawValue)/\(i)/query.json", ExtendedJSON.string(spec, mode: .canonical))
            jobs.append((e, db.name, schemas, query))
        }
        let uri = try TestServer.uri()
        let jobList = jobs
        let results = OutcomeBox(count: jobs.count)
        DispatchQueue.concurrentPerform(iterations: 2) { worker in
            for j in stride(from: worker, to: jobList.count, by: 2) {
                let (e, db, schemas, query) = jobList[j]
                do {
                    let r = try StrataRunner.run(["run", query.path, "--canonical", "--uri", uri, "--db", db, "--schemas", schemas.path])
                    results.set(j, Outcome(example: e, mode: mode, status: r.status, stdout: r.stdout, stderr: r.stderr))
                } catch {
                    results.set(j, Outcome(example: e, mode: mode, status: -1, stdout: "", stderr: "\(error)"))
                }
            }
        }
        for i in examples.indices { try MongoDatabase(pool: pool, name: "strata_conf_\(mode.rawValue)_\(i)").drop() }
        return (results.all, perVersion)
    }

    final class OutcomeBox: Sendable {
        private let items: Locked<[Outcome?]>
        init(count: Int) { items = Locked(Array(repeating: nil, count: count)) }
        func set(_ i: Int, _ o: Outcome) { items.mutate { $0[i] = o } }
        var all: [Outcome] { items.value.map { $0! } }
    }

    // MARK: judging

    static func verdict(_ o: Outcome) -> Verdict {
        let e = o.example
        if let reason = e.expectRefusal {
            if o.status == 3 { return .refusedAsExpected }
            return .fail("expected a refusal (exit 3: \(reason)), got exit \(o.status): \(o.stderr.prefix(300))")
        }
        var problem: String?
        if o.status != 0 {
            problem = "exit \(o.status): \(o.stderr.prefix(400))"
        } else {
            do {
                var got = try o.stdout.split(separator: "\n").map { try ExtendedJSON.parseDocument(String($0)) }
                if o.mode == .mixed { got = got.map { stripVersionField($0) } }
                if !e.dropFromOutput.isEmpty { got = got.map { Document($0.fields.filter { !e.dropFromOutput.contains($0.key) }.map { ($0.key, $0.value) }) } }
                problem = difference(got.map { sortSets($0, e.setFields) }, e.expected.map { sortSets($0, e.setFields) },
                                     ordered: e.ordered, orderedBy: e.orderedBy, tolerance: e.tolerance)
            } catch {
                problem = "unreadable output: \(error)"
            }
        }
        guard let problem else {
            // Listed, not failed: the lead flips the mark when a fix lands.
            if e.knownDivergence[o.mode] != nil { return .knownDivergenceNowAgrees }
            return .pass
        }
        if let d = e.knownDivergence[o.mode] { return .knownDivergence("\(d): \(problem)") }
        return .fail(problem)
    }

    /// The arrays at `fields` in one canonical order.
    static func sortSets(_ d: Document, _ fields: [String]) -> Document {
        guard !fields.isEmpty else { return d }
        return Document(d.fields.map { f in
            guard fields.contains(f.key), case .array(let a) = f.value else { return (f.key, f.value) }
            return (f.key, .array(a.sorted { ExtendedJSON.string($0, mode: .canonical) < ExtendedJSON.string($1, mode: .canonical) }))
        })
    }

    /// The generic lens's version field, wherever a whole document carried it into the output.
    static func stripVersionField(_ d: Document) -> Document {
        func strip(_ v: BSON) -> BSON {
            switch v {
            case .document(let d): return .document(stripVersionField(d))
            case .array(let a): return .array(a.map(strip))
            default: return v
            }
        }
        return Document(d.fields.filter { $0.key != versionField }.map { ($0.key, strip($0.value)) })
    }

    /// `nil` when `got` is what mongod prints: the same documents (keys in the same order, values
    /// of the same BSON types; doubles within `tolerance`, relative), in the same order when the
    /// pipeline defines it, else as multisets.
    static func difference(_ got: [Document], _ want: [Document], ordered: Bool, orderedBy: [String] = [], tolerance: Double) -> String? {
        func show(_ d: [Document]) -> String { d.map { ExtendedJSON.string($0, mode: .canonical) }.joined(separator: "\n    ") }
        let mismatch = "\n  got:\n    \(show(got))\n  expected:\n    \(show(want))"
        if got.count != want.count { return "\(got.count) results, expected \(want.count)" + mismatch }
        if ordered && !orderedBy.isEmpty {
            func key(_ d: Document) -> String { orderedBy.map { d[$0].map { ExtendedJSON.string($0, mode: .canonical) } ?? "missing" }.joined(separator: "|") }
            var i = 0
            while i < want.count {
                var j = i + 1
                while j < want.count && key(want[j]) == key(want[i]) { j += 1 }
                if let k = (i..<j).first(where: { key(got[$0]) != key(want[i]) }) { return "result #\(k) is out of order" + mismatch }
                if let d = difference(Array(got[i..<j]), Array(want[i..<j]), ordered: false, tolerance: tolerance) { return "results #\(i)..<\(j): " + d }
                i = j
            }
            return nil
        }
        if ordered {
            for (i, (g, w)) in zip(got, want).enumerated() where !same(.document(g), .document(w), tolerance) {
                return "result #\(i) differs" + mismatch
            }
            return nil
        }
        var unmatched = got
        for w in want {
            guard let j = unmatched.firstIndex(where: { same(.document($0), .document(w), tolerance) }) else {
                return "expected \(ExtendedJSON.string(w, mode: .canonical)) is not among the results" + mismatch
            }
            unmatched.remove(at: j)
        }
        return nil
    }

    static func same(_ a: BSON, _ b: BSON, _ tolerance: Double) -> Bool {
        switch (a, b) {
        case (.double(let x), .double(let y)):
            if x.isNaN || y.isNaN { return x.isNaN && y.isNaN }
            if x == y { return true }
            return abs(x - y) <= tolerance * max(abs(x), abs(y))
        case (.decimal128, .decimal128):
            return ExtendedJSON.string(a, mode: .canonical) == ExtendedJSON.string(b, mode: .canonical)
        case (.document(let x), .document(let y)):
            return x.count == y.count && zip(x.fields, y.fields).allSatisfy { $0.key == $1.key && same($0.value, $1.value, tolerance) }
        case (.array(let x), .array(let y)):
            return x.count == y.count && zip(x, y).allSatisfy { same($0, $1, tolerance) }
        default:
            return a == b
        }
    }

    // MARK: the test

    func testCorpusAgreesWithTheDocumentedOutputInBothModes() throws {
        let start = Date()
        let (examples, skipped) = try Self.loadCorpus()
        XCTAssertGreaterThanOrEqual(examples.count, 150, "the corpus holds at least 150 examples")
        let folder = try TempFolder()
        var lines: [String] = []
        var failures = 0
        for mode in Mode.allCases {
            var pass = 0, refused = 0, known = 0
            let (outcomes, perVersion) = try Self.run(examples, mode: mode, folder: folder)
            if mode == .mixed {
                // Every version holds about a third of the documents (round robin), stored in its own shape.
                let total = examples.reduce(0) { $0 + $1.documents.count }
                XCTAssertEqual(perVersion.reduce(0, +), total, "every mixed-mode document is at version 0, 1 or 2: \(perVersion)")
                XCTAssertTrue(perVersion.allSatisfy { $0 > total / 4 }, "documents spread over versions 0/1/2: \(perVersion)")
                lines.append("mixed: documents stored at versions 0/1/2: \(perVersion.map(String.init).joined(separator: "/"))")
            }
            for o in outcomes {
                switch Self.verdict(o) {
                case .pass: pass += 1
                case .knownDivergenceNowAgrees:
                    pass += 1
                    lines.append("  [\(mode)] \(o.example.id): marked as a known divergence but agrees now: remove the mark")
                case .refusedAsExpected: refused += 1
                case .knownDivergence(let why):
                    known += 1
                    lines.append("  [\(mode)] \(o.example.id) (known divergence): \(why.prefix(200))")
                case .fail(let why):
                    failures += 1
                    XCTFail("[\(mode)] \(o.example.id) (\(o.example.file)): \(why)")
                }
            }
            lines.insert("\(mode): \(pass) agree, \(refused) refused as expected, \(known) known divergences, "
                         + "\(examples.count - pass - refused - known) fail", at: 0)
        }
        print("conformance: \(examples.count) examples, \(skipped) skipped in the fixtures, \(failures) failures, "
              + String(format: "%.1f s", Date().timeIntervalSince(start)))
        for l in lines { print(l) }
    }
}
