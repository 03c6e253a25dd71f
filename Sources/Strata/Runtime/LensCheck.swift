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
///   document back.
/// The report also lists what each operation discards (its `invertibility`), and the
/// operations that only Swift can run.
package struct LensCheck: Sendable {
    package struct Finding: Sendable {
        package enum Severity: String, Sendable { case problem, note }
        package var severity: Severity
        /// Which check: "upgrade", "server", "monotone", "inverseExact", "undo", "discards", "swiftOnly".
        package var check: String
        /// The operation's place in the lens file, when one is concerned.
        package var location: String?
        package var message: String
        /// `_id`s of documents that show it (at most five).
        package var examples: [BSON] = []
        /// How many sampled documents show it.
        package var count: Int = 1
    }

    package struct Report: Sendable {
        package var collection: String
        package var lensFile: String?
        /// Sampled documents per stored version.
        package var sampled: [Int: Int] = [:]
        package var findings: [Finding] = []

        package var problems: [Finding] { findings.filter { $0.severity == .problem } }

        package var json: Document {
            var d: Document = ["collection": .string(collection)]
            if let lensFile { d["lens"] = .string(lensFile) }
            d["sampled"] = .document(Document(sampled.sorted { $0.key < $1.key }.map { ("v\($0.key)", .int64(Int64($0.value))) }))
            d["problems"] = .int64(Int64(problems.count))
            d["findings"] = .array(findings.map { f in
                var x: Document = ["severity": .string(f.severity.rawValue), "check": .string(f.check), "message": .string(f.message)]
                if let l = f.location { x["location"] = .string(l) }
                if !f.examples.isEmpty { x["examples"] = .array(f.examples); x["count"] = .int64(Int64(f.count)) }
                return .document(x)
            })
            return d
        }

        package var text: String {
            var out = "lens check: '\(collection)'\(lensFile.map { " (\($0))" } ?? "")\n"
            let counts = sampled.sorted { $0.key < $1.key }.map { "v\($0.key): \($0.value)" }
            out += "sampled: \(counts.isEmpty ? "nothing below the newest version" : counts.joined(separator: ", "))\n"
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
        var report = Report(collection: lens.collection, lensFile: lens.source)
        report.findings += declared()
        let context = DatabaseLookup(database: collection.database).context(functions: functions)
        var collector = Collector()
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
        }
        report.findings += collector.findings
        return report
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
