import Foundation
import StrataBSON
import StrataEvaluator
import StrataLibBSON
import StrataMongo

/// `strata lens check`: a lens's claims and operations tested on documents sampled from
/// the collection, where loading can only test them on made-up values.
///
/// For each stored version below the newest, up to `sample` documents are drawn
/// (`$sample`) and:
/// - upgraded in Swift — documents an operation refuses (a guard, a value a conversion
///   rejects) are reported with the operation's place and example `_id`s;
/// - upgraded by the lens's server stages, which must give the same documents (key order
///   aside) and refuse the same ones;
/// - each `convert` claim is tested on the values met just before it: `monotone` (sorted
///   by stored value, the converted values must keep — or reverse — the order) and
///   `inverseExact` (the inverse of the converted value gives the stored value back, and
///   converting that gives the converted value again — equal as MongoDB compares values);
/// - a version whose undo is declared exact is downgraded again and must give the stored
///   document back;
/// - each upgraded document's fields are compared with what the lens names and what the
///   newest documents hold (`FieldCensus`, on up to `sample` of them; a path they lack is
///   then asked of all of them, one `$exists` find each): a field no step mentions that no
///   newest-version document has either (a `legacyNote` the upgrade carries along
///   unchanged) is reported per path, with a count and example `_id`s.
/// The histogram (documents per stored version, `VersionHistogram`) heads the report;
/// documents at a version the lens does not know, or whose version is not an integer,
/// are a problem: no query can read them.
/// The report also lists what each operation discards (its `invertibility`), and the
/// operations that only Swift can run.
package struct LensCheck: Sendable {
    package struct Finding: Sendable {
        package enum Severity: String, Sendable { case problem, note }
        package var severity: Severity
        /// Which check: "upgrade", "server", "monotone", "inverseExact", "undo", "unknownField",
        /// "unknownVersion", "skipped", "discards", "swiftOnly".
        package var check: String
        /// The operation's place in the lens file, when one is concerned.
        package var location: String?
        package var message: String
        /// `_id`s of documents that show it (at most five).
        package var examples: [BSON] = []
        /// How many sampled documents show it.
        package var count: Int = 1
        /// The field path concerned ("unknownField").
        package var field: String? = nil
    }

    package struct Report: Sendable {
        package var collection: String
        package var lensFile: String?
        /// Sampled documents per stored version below the newest.
        package var sampled: [Int: Int] = [:]
        /// Sampled documents at the newest version (whose fields `unknownField` compares with).
        package var sampledNewest = 0
        package var newest = 0
        /// Documents stored per version, as `strata histogram` counts them.
        package var histogram: VersionHistogram?
        package var findings: [Finding] = []

        package var problems: [Finding] { findings.filter { $0.severity == .problem } }

        /// Problems per check, for scripts.
        package var problemsByCheck: [String: Int] {
            problems.reduce(into: [:]) { $0[$1.check, default: 0] += 1 }
        }

        package var json: Document {
            var d: Document = ["collection": .string(collection)]
            if let lensFile { d["lens"] = .string(lensFile) }
            d["sampled"] = .document(Document(sampled.sorted { $0.key < $1.key }.map { ("v\($0.key)", .int64(Int64($0.value))) }))
            d["sampledNewest"] = ["version": .int64(Int64(newest)), "count": .int64(Int64(sampledNewest))]
            if let histogram { d["histogram"] = .document(histogram.json) }
            d["problems"] = .int64(Int64(problems.count))
            d["problemsByCheck"] = .document(Document(problemsByCheck.sorted { $0.key < $1.key }.map { ($0.key, .int64(Int64($0.value))) }))
            d["findings"] = .array(findings.map { f in
                var x: Document = ["severity": .string(f.severity.rawValue), "check": .string(f.check), "message": .string(f.message)]
                if let l = f.location { x["location"] = .string(l) }
                if let p = f.field { x["field"] = .string(p) }
                if !f.examples.isEmpty { x["examples"] = .array(f.examples); x["count"] = .int64(Int64(f.count)) }
                return .document(x)
            })
            return d
        }

        package var text: String {
            var out = "lens check: '\(collection)'\(lensFile.map { " (\($0))" } ?? "")\n"
            let counts = sampled.sorted { $0.key < $1.key }.map { "v\($0.key): \($0.value)" }
            if let histogram {
                out += "stored: \(VersionHistogram.grouped(histogram.total)) document\(histogram.total == 1 ? "" : "s")\n"
                for row in histogram.rows where row.count > 0 || row.kind == .known {
                    let label = row.kind == .nonInteger ? row.label : "v\(row.label)"
                    out += "  \(label): \(VersionHistogram.grouped(row.count))\(row.note.isEmpty ? "" : " (\(row.note))")\n"
                }
            }
            out += "sampled: \(counts.isEmpty ? "nothing below the newest version" : counts.joined(separator: ", "))"
                + "; v\(newest) (newest, for its fields): \(sampledNewest)\n"
            for f in findings {
                let ids = f.examples.isEmpty ? "" : " (\(f.count) document\(f.count == 1 ? "" : "s"), e.g. _id \(f.examples.map { ExtendedJSON.string($0) }.joined(separator: ", ")))"
                out += "\(f.severity == .problem ? "PROBLEM" : "note")  \(f.check)\(f.location.map { " at \($0)" } ?? ""): \(f.message)\(ids)\n"
            }
            out += problems.isEmpty ? "no problem found\n" : "\(problems.count) problem\(problems.count == 1 ? "" : "s") found\n"
            return out
        }
    }

    package let lens: Lens
    package var sample: Int
    package var functions: LensFunctions

    package init(lens: Lens, sample: Int = 200, functions: LensFunctions = .builtIn) {
        self.lens = lens
        self.sample = sample
        self.functions = functions
    }

    package func run(on collection: MongoCollection) throws -> Report {
        var report = Report(collection: lens.collection, lensFile: lens.source, newest: lens.newest)
        let histogram = try VersionHistogram.read(collection, lens: lens)
        report.histogram = histogram
        report.findings += declared()
        report.findings += Self.unreadable(histogram)
        let context = DatabaseLookup(database: collection.database).context(functions: functions)
        var collector = Collector()
        let newestDocs = try draw(lens.newest, from: collection)
        report.sampledNewest = newestDocs.count
        let census = FieldCensus(lens: lens, newest: newestDocs)
        var unknownFields = UnknownFields()
        for version in lens.knownVersions.sorted() where version < lens.newest {
            let docs = try draw(version, from: collection)
            report.sampled[version] = docs.count
            guard !docs.isEmpty else { continue }
            var upgraded: [(stored: Document, upgraded: Document)] = []
            var claims = ClaimSamples()
            for doc in docs {
                do {
                    let up = try lens.upgrade(doc, context: context) { op, before in claims.record(op, before) }
                    upgraded.append((doc, up))
                } catch let e as StrataError {
                    collector.add(.problem, "upgrade", e.location?.description, Self.generalised(e.message), id: doc["_id"])
                } catch let s as DocumentSkipped {
                    collector.add(.note, "skipped", s.location.description,
                                  "left out of every answer: a value the conversion rejects (onError: skip)", id: s.id)
                }
            }
            try compareServer(version, upgraded, refusedCount: docs.count - upgraded.count, collection, &collector)
            claims.findings(into: &collector)
            checkUndo(version, upgraded, context: context, &collector)
            for (stored, up) in upgraded {
                for path in census.unknownPaths(in: up) { unknownFields.add(path, version: version, id: stored["_id"]) }
            }
        }
        report.findings += collector.findings
        // A field a few newest documents hold may be missing from the sample: asked of them all.
        let newestStored = histogram.count(at: lens.newest)
        if newestStored > newestDocs.count {
            for path in unknownFields.order.prefix(Self.confirmationLimit) where try newestHolds(path, collection) {
                unknownFields.seen[path] = nil
            }
        }
        report.findings += unknownFields.findings(newest: lens.newest, newestStored: newestStored)
        return report
    }

    /// Unknown paths looked for among all the newest documents (one indexed-or-not find each).
    static let confirmationLimit = 50

    /// Whether some document stored at the newest version holds `path` (through arrays, as
    /// a query's path goes). Paths a query cannot name plainly (a key with a dot or a `$`,
    /// a number that would name an array element) are left to the sample.
    func newestHolds(_ path: [String], _ collection: MongoCollection) throws -> Bool {
        guard !path.contains(where: { $0.isEmpty || $0.contains(".") || $0.hasPrefix("$") || $0.allSatisfy(\.isNumber) }) else {
            return false
        }
        var filter = lens.filter(forVersion: lens.newest)
        filter[path.joined(separator: ".")] = ["$exists": true]
        return try collection.findOne(filter, options: FindOptions(projection: ["_id": 1])) != nil
    }

    /// Documents no query can read: at a version the lens does not know, or not an integer.
    static func unreadable(_ h: VersionHistogram) -> [Finding] {
        var out: [Finding] = []
        let range = "\(h.knownVersions.lowerBound)...\(h.knownVersions.upperBound)"
        for (v, n) in h.unknownVersions.sorted(by: { $0.key < $1.key }) where n > 0 {
            out.append(Finding(severity: .problem, check: "unknownVersion", location: nil,
                               message: "\(VersionHistogram.grouped(n)) document\(n == 1 ? " is" : "s are") stored at version \(v), which the lens does not know (it knows \(range)): queries refuse the collection while they are there (unless told to leave them out); update the lens or the documents",
                               count: n))
        }
        for odd in h.nonInteger {
            out.append(Finding(severity: .problem, check: "unknownVersion", location: nil,
                               message: "\(VersionHistogram.grouped(odd.count)) document\(odd.count == 1 ? "'s" : "s'") '\(h.versionField)' \(odd.count == 1 ? "is" : "are") \(odd.extendedJSON) (\(odd.value.typeName)), not a version: queries refuse the collection while they are there (unless told to leave them out); update the lens or the documents",
                               count: odd.count))
        }
        return out
    }

    // MARK: what the lens declares

    func declared() -> [Finding] {
        var out: [Finding] = []
        func walk(_ ops: [any LensOperation]) {
            for op in ops {
                switch op.invertibility {
                case .exact: break
                case .lossy(let why): out.append(Finding(severity: .note, check: "discards", location: op.location.description, message: "\(op.name): \(why)"))
                case .impossible(let why): out.append(Finding(severity: .note, check: "discards", location: op.location.description, message: "\(op.name): no undo: \(why)"))
                }
                if let scoped = op as? ScopedOperation { walk(scoped.operations) }
            }
        }
        for step in lens.steps { walk(step.operations) }
        for v in lens.knownVersions.sorted() where v < lens.newest {
            if let op = lens.serverUpgradeObstacle(from: v) {
                out.append(Finding(severity: .note, check: "swiftOnly", location: op.location.description,
                                   message: "documents stored at v\(v) are upgraded in Swift when a query needs them whole (\(op.name) has no server form)"))
            }
        }
        return out
    }

    // MARK: sampling

    func draw(_ version: Int, from collection: MongoCollection) throws -> [Document] {
        let filter = lens.filter(forVersion: version)
        if let docs = try? collection.aggregateAll([["$match": .document(filter)], ["$sample": ["size": .int64(Int64(sample))]]]) {
            return docs
        }
        return try collection.find(filter, options: FindOptions(limit: Int64(sample))).all()
    }

    /// "cannot upgrade document _id 7 from version 0: ..." without the document's own words.
    static func generalised(_ message: String) -> String {
        guard let r = message.range(of: #"^cannot upgrade document (_id .*?|\(without _id\)) from version \d+: "#, options: .regularExpression) else { return message }
        return String(message[r.upperBound...])
    }

    // MARK: server stages

    func compareServer(_ version: Int, _ upgraded: [(stored: Document, upgraded: Document)], refusedCount: Int,
                       _ collection: MongoCollection, _ collector: inout Collector) throws {
        guard let stages = lens.serverUpgradeStages(from: version), !upgraded.isEmpty else { return }
        let ids = upgraded.compactMap { $0.stored["_id"] }
        let server: [Document]
        do {
            server = try collection.aggregateAll([["$match": ["_id": ["$in": .array(ids)]]]] + stages)
        } catch let e as MongoError {
            let refusal = Lens.upgradeFailure(serverMessage: e.message)
            collector.add(.problem, "server", nil, "the server stages refuse a document Swift upgrades at v\(version): \(refusal?.message ?? e.message)", id: nil)
            return
        }
        var byID: [GroupKey: Document] = [:]
        for d in server { if let id = d["_id"] { byID[GroupKey(id)] = d } }
        let compare = BSONComparison()
        for (stored, swift) in upgraded {
            guard let id = stored["_id"] else { continue }
            guard let s = byID[GroupKey(id)] else {
                collector.add(.problem, "server", nil, "the server stages lost a document stored at v\(version)", id: id)
                continue
            }
            if let diff = compare.difference(swift, s) {
                collector.add(.problem, "server", nil, "the server stages upgrade a v\(version) document differently from Swift: \(diff)", id: id)
            }
        }
    }

    // MARK: undo

    func checkUndo(_ version: Int, _ upgraded: [(stored: Document, upgraded: Document)], context: LensContext, _ collector: inout Collector) {
        guard lens.downgradeInvertibility(from: lens.newest, to: version) == .exact else { return }
        let compare = BSONComparison()
        for (stored, up) in upgraded {
            do {
                let back = try lens.downgrade(up, to: version, context: context)
                if let diff = compare.difference(back, stored) {
                    collector.add(.problem, "undo", nil, "undo to v\(version) is declared exact but does not give the stored document back: \(diff)", id: stored["_id"])
                }
            } catch let e as StrataError {
                collector.add(.problem, "undo", e.location?.description, "undo to v\(version) is declared exact but fails: \(Self.generalised(e.message))", id: stored["_id"])
            } catch {
                collector.add(.problem, "undo", nil, "undo to v\(version) fails: \(error)", id: stored["_id"])
            }
        }
    }

    // MARK: claims

    /// Values met before each claiming `convert`, and the checks on them.
    struct ClaimSamples {
        var seen: [String: (op: ConvertOperation, values: [(id: BSON?, value: BSON)])] = [:]

        mutating func record(_ op: any LensOperation, _ before: Document) {
            guard let c = op as? ConvertOperation, c.monotone != nil || c.inverseExact,
                  let v = before.value(atPath: c.field) else { return }
            seen[c.location.description, default: (c, [])].values.append((before["_id"], v))
        }

        func findings(into collector: inout Collector) {
            for (place, entry) in seen.sorted(by: { $0.key < $1.key }) {
                let c = entry.op
                var converted: [(id: BSON?, old: BSON, new: BSON)] = []
                for (id, v) in entry.values {
                    guard let new = try? Evaluator.evaluate(c.expr, [:], Variables(["value": v])) else { continue }
                    converted.append((id, v, new))
                }
                if let m = c.monotone {
                    let sorted = converted.sorted { BSONOrder.compare($0.old, $1.old) < 0 }
                    for (a, b) in zip(sorted, sorted.dropFirst()) where BSONOrder.compare(a.old, b.old) < 0 {
                        let order = BSONOrder.compare(a.new, b.new)
                        if (m == .increasing && order > 0) || (m == .decreasing && order < 0) {
                            collector.add(.problem, "monotone", place,
                                          "'\(c.field.joined(separator: "."))' is claimed \(m.rawValue), but \(ExtendedJSON.string(a.old)) converts to \(ExtendedJSON.string(a.new)) and the larger \(ExtendedJSON.string(b.old)) to \(ExtendedJSON.string(b.new)): range predicates bounded on the stored field would miss documents. Remove the claim",
                                          id: b.id)
                            break
                        }
                    }
                }
                if c.inverseExact, let inverse = c.inverse {
                    var failures: [(id: BSON?, text: String)] = []
                    for x in converted {
                        let back = try? Evaluator.evaluate(inverse, [:], Variables(["value": x.new]))
                        let again = back.flatMap { b in try? Evaluator.evaluate(c.expr, [:], Variables(["value": b])) }
                        if !(back.map { Self.identical($0, x.old) } ?? false) || !(again.map { Self.identical($0, x.new) } ?? false) {
                            failures.append((x.id, "\(ExtendedJSON.string(x.old)) converts to \(ExtendedJSON.string(x.new)), whose inverse is \(back.map { ExtendedJSON.string($0) } ?? "an error")"))
                        }
                    }
                    if let first = failures.first {
                        collector.findings.append(Finding(
                            severity: .problem, check: "inverseExact", location: place,
                            message: "'\(c.field.joined(separator: "."))' is claimed exactly invertible, but \(first.text). Remove \"inverseExact\" (equalities are then answered from the converted value)",
                            examples: failures.prefix(5).compactMap(\.id), count: failures.count))
                    }
                }
            }
        }

        /// The same value, as MongoDB compares (1000 and 1000.0 are the same number): what a
        /// translated equality relies on.
        static func identical(_ a: BSON, _ b: BSON) -> Bool {
            BSONOrder.compare(a, b) == 0
        }
    }

    /// Findings merged by check, place and message, with example `_id`s.
    struct Collector {
        var findings: [Finding] = []

        mutating func add(_ severity: Finding.Severity, _ check: String, _ location: String?, _ message: String, id: BSON?) {
            // Refusals by one operation are one finding (their words may name values).
            if let i = findings.firstIndex(where: { $0.check == check && $0.location == location && (check == "upgrade" || $0.message == message) }) {
                findings[i].count += 1
                if let id, findings[i].examples.count < 5 { findings[i].examples.append(id) }
                return
            }
            findings.append(Finding(severity: severity, check: check, location: location, message: message, examples: id.map { [$0] } ?? []))
        }
    }
}

/// The fields an upgraded document may hold: the paths a lens step mentions (what an
/// operation reads, writes or removes, and everything inside them), `_id`, the version
/// field, and the paths the sampled newest-version documents hold (into sub-documents,
/// and through arrays to their elements' fields). Anything else an upgrade leaves in a
/// document is a field the newest schema does not know.
package struct FieldCensus: Sendable {
    /// Paths whose every sub-path is known.
    package let mentioned: [[String]]
    /// Paths the newest documents hold (with their ancestors).
    package let held: Set<[String]>

    package init(lens: Lens, newest: [Document]) {
        var mentioned: [[String]] = [["_id"], lens.versionField.split(separator: ".").map(String.init)]
        for step in lens.steps {
            // A scoped operation (map/in) reads and writes its whole field: its inner
            // operations' paths are the elements', within it.
            for op in step.operations { mentioned += (op.reads + op.writes + op.removes).filter { !$0.isEmpty } }
        }
        self.mentioned = mentioned
        var held: Set<[String]> = []
        for doc in newest { Self.collect(doc, [], into: &held) }
        self.held = held
    }

    static func collect(_ doc: Document, _ prefix: [String], into held: inout Set<[String]>) {
        for (k, v) in doc {
            let p = prefix + [k]
            held.insert(p)
            collect(v, p, into: &held)
        }
    }

    static func collect(_ v: BSON, _ p: [String], into held: inout Set<[String]>) {
        switch v {
        case .document(let d): collect(d, p, into: &held)
        case .array(let items): for item in items { collect(item, p, into: &held) }
        default: break
        }
    }

    static func isWithin(_ a: [String], _ b: [String]) -> Bool { a.count >= b.count && Array(a.prefix(b.count)) == b }

    /// The outermost unknown paths of `doc` (a path inside an unknown one is not listed again).
    package func unknownPaths(in doc: Document) -> [[String]] {
        var out: [[String]] = []
        walk(doc, [], &out)
        var seen: Set<[String]> = []
        return out.filter { seen.insert($0).inserted }
    }

    func walk(_ doc: Document, _ prefix: [String], _ out: inout [[String]]) {
        for (k, v) in doc {
            let p = prefix + [k]
            if mentioned.contains(where: { Self.isWithin(p, $0) }) { continue }
            guard held.contains(p) || mentioned.contains(where: { Self.isWithin($0, p) }) else {
                out.append(p)
                continue
            }
            visit(v, p, &out)
        }
    }

    func visit(_ v: BSON, _ p: [String], _ out: inout [[String]]) {
        switch v {
        case .document(let d): walk(d, p, &out)
        case .array(let items): for item in items { visit(item, p, &out) }
        default: break
        }
    }
}

extension LensCheck {
    /// Unknown fields met in upgraded documents, by path, in the order first met.
    struct UnknownFields {
        var order: [[String]] = []
        var seen: [[String]: (count: Int, versions: Set<Int>, examples: [BSON])] = [:]

        mutating func add(_ path: [String], version: Int, id: BSON?) {
            if seen[path] == nil { order.append(path); seen[path] = (0, [], []) }
            seen[path]!.count += 1
            seen[path]!.versions.insert(version)
            if let id, seen[path]!.examples.count < 5 { seen[path]!.examples.append(id) }
        }

        func findings(newest: Int, newestStored: Int) -> [Finding] {
            order.compactMap { path in
                guard let entry = seen[path] else { return nil }
                let name = path.joined(separator: ".")
                let versions = entry.versions.sorted().map { "v\($0)" }.joined(separator: ", ")
                let reference = newestStored == 0
                    ? "no document is stored at v\(newest) to show it"
                    : "none of the \(VersionHistogram.grouped(newestStored)) documents stored at v\(newest) holds it"
                return Finding(
                    severity: .problem, check: "unknownField", location: nil,
                    message: "'\(name)' is left by the upgrade of documents stored at \(versions), but no step mentions it and \(reference): queries written for v\(newest) do not expect it (remove, rename or nest it in a step)",
                    examples: entry.examples, count: entry.count, field: name)
            }
        }
    }
}
