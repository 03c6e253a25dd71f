import ArgumentParser
import Foundation
import Strata
import StrataBSON

/// `strata index`: the indexes the lens implies, per version.
struct IndexCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "index",
        abstract: "Create the indexes the lens implies: the version field, and each declared index on the paths every version stores it at.",
        discussion: """
            For each index the lens file declares ("indexes", over the newest schema), \
            strata traces every key back through the lens to each older version. Versions \
            that store the key at the same paths share one index; it is restricted to them \
            with a partial filter on the version field ({v: 2}, {v: {$gte: 2, $lte: 3}}), \
            or, for a group that includes documents without the version field, on the \
            first key ({key: {$exists: true}}: mongod refuses {$exists: false} in a \
            partial filter). A key computed by a monotone conversion is indexed on the \
            stored field it comes from; a looked-up or application-computed key cannot be \
            indexed at the older versions, and the output says so.

            A declared unique index stays unique within each index's versions (and across \
            all versions where the path never changed). Indexes that exist already are \
            left alone; one of the same name but another definition is an error.
            """
    )

    @OptionGroup var collection: CollectionOptions
    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var schemas: SchemaOptions

    @Flag(help: "Print the indexes strata would create; connect to nothing.")
    var dryRun = false

    @Flag(help: "Print one JSON object (indexes, their outcome, and what was skipped) instead of the table.")
    var json = false

    func run() throws {
        let lens = try schemas.lens(for: collection.name)
        let plan = LensIndexPlan(lens: lens)
        var outcomes: [(LensIndexPlan.Spec, String)] = plan.specs.map { ($0, "would create") }
        var namespace = collection.name
        if !dryRun {
            let connection = try self.connection.resolve()
            namespace = "\(connection.databaseName).\(collection.name)"
            let done = try connection.run { db in try plan.create(on: db.collection(collection.name)) }
            outcomes = done.map { spec, outcome in
                switch outcome {
                case .created: return (spec, "created")
                case .exists(let name): return (spec, name == spec.name ? "exists" : "exists as '\(name)'")
                case .refused(let reason): return (spec, "refused by the server (\(reason))")
                }
            }
        }
        if json {
            let doc: Document = [
                "collection": .string(namespace), "versionField": .string(plan.versionField), "dryRun": .bool(dryRun),
                "indexes": .array(outcomes.map { spec, status in
                    var d = spec.document
                    d["versions"] = .array(spec.versions.map { .int64(Int64($0)) })
                    if let n = spec.declaredName { d["declared"] = .string(n) }
                    if let note = spec.note { d["note"] = .string(note) }
                    d["status"] = .string(status)
                    return .document(d)
                }),
                "skipped": .array(plan.skipped.map { s in
                    ["declared": .string(s.declaredName), "versions": .array(s.versions.map { .int64(Int64($0)) }), "reason": .string(s.reason)]
                }),
            ]
            writeOut(ReportJSON.line(doc) + "\n")
            return
        }
        var rows: [[String]] = [["index", "key", "versions", "restricted by", "unique", "status"]]
        for (spec, status) in outcomes {
            rows.append([spec.name, ReportJSON.line(spec.keys), Self.versions(spec.versions),
                         spec.partialFilter.map(ReportJSON.line) ?? (spec.sparse ? "sparse" : "-"), spec.unique ? "unique" : "-", status])
        }
        var widths = rows[0].map(\.count)
        for r in rows { for (i, c) in r.enumerated() { widths[i] = max(widths[i], c.count) } }
        var out = "\(namespace): indexes from \(lens.source ?? "the lens") (version field '\(lens.versionField)', versions \(lens.oldest)...\(lens.newest))\n\n"
        for r in rows {
            out += "  " + r.enumerated().map { i, c in c + String(repeating: " ", count: widths[i] - c.count) }.joined(separator: "  ")
                .replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression) + "\n"
        }
        let notes = outcomes.compactMap { spec, _ in spec.note.map { "  \(spec.name): \($0)" } }.filter { !$0.contains("the version field") }
        if !notes.isEmpty { out += "\n" + notes.joined(separator: "\n") + "\n" }
        if !plan.skipped.isEmpty {
            out += "\nnot indexed at older versions:\n"
            for s in plan.skipped { out += "  \(s.declaredName) at \(Self.versions(s.versions)): \(s.reason)\n" }
        }
        writeOut(out)
    }

    static func versions(_ vs: [Int]) -> String {
        guard let first = vs.first, let last = vs.last else { return "-" }
        return vs.count == 1 ? "\(first)" : first <= last && vs == Array(first...last) ? "\(first)...\(last)" : vs.map(String.init).joined(separator: ",")
    }
}
