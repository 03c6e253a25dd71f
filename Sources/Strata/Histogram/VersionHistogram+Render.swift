import StrataBSON
import StrataMongo

extension VersionHistogram {
    /// One line of the rendered table.
    package struct Row: Sendable, Equatable {
        package enum Kind: Sendable, Equatable { case known, unknown, nonInteger }
        package var label: String
        package var count: Int
        package var kind: Kind
        package var note: String
    }

    /// Known versions (all of them, oldest first), then unknown versions, then
    /// non-integer values: every document is on exactly one row.
    package var rows: [Row] {
        var rows: [Row] = []
        for v in knownVersions {
            var notes: [String] = []
            if v == absentMeans && documentsWithoutField > 0 {
                notes.append("\(Self.grouped(documentsWithoutField)) without '\(versionField)'")
            }
            if v == knownVersions.upperBound { notes.append("newest") }
            rows.append(Row(label: String(v), count: counts[v] ?? 0, kind: .known, note: notes.joined(separator: "; ")))
        }
        for (v, n) in unknownVersions.sorted(by: { $0.key < $1.key }) {
            rows.append(Row(label: String(v), count: n, kind: .unknown,
                            note: "UNKNOWN: the lens knows \(knownVersions.lowerBound)...\(knownVersions.upperBound)"))
        }
        for odd in nonInteger {
            var label = odd.extendedJSON
            if label.count > 20 { label = String(label.prefix(17)) + "..." }
            rows.append(Row(label: label, count: odd.count, kind: .nonInteger,
                            note: "NOT AN INTEGER (\(odd.value.typeName))"))
        }
        return rows
    }

    /// An aligned, human-readable table.
    package func table() -> String {
        let total = self.total
        let rows = self.rows
        let labelWidth = max("version".count, "total".count, rows.map(\.label.count).max() ?? 0)
        let countWidth = max("count".count, Self.grouped(total).count)
        func share(_ n: Int) -> String {
            guard total > 0 else { return "-" }
            return Self.percent(Double(n) * 100 / Double(total))
        }
        func line(_ label: String, _ count: String, _ share: String, _ note: String) -> String {
            let l = String(repeating: " ", count: labelWidth - label.count) + label
            let c = String(repeating: " ", count: countWidth - count.count) + count
            let s = String(repeating: " ", count: max(0, 6 - share.count)) + share
            return ("  \(l)  \(c)  \(s)" + (note.isEmpty ? "" : "  \(note)"))
        }
        var out = "\(database).\(collection): version field '\(versionField)'"
            + " (absent means \(absentMeans)); the lens knows versions \(knownVersions.lowerBound)...\(knownVersions.upperBound)\n\n"
        out += line("version", "count", "share", "") + "\n"
        for row in rows {
            out += line(row.label, Self.grouped(row.count), share(row.count), row.note) + "\n"
        }
        out += "  " + String(repeating: "-", count: labelWidth + countWidth + 10) + "\n"
        out += line("total", Self.grouped(total), total > 0 ? "100.0%" : "-", "") + "\n"
        if unexpected > 0 {
            out += "\n\(Self.grouped(unexpected)) document\(unexpected == 1 ? " is" : "s are") at a version the lens cannot upgrade.\n"
        }
        out += "\ncounted with: \(strategy)\n"
        return out
    }

    /// The histogram as a JSON object (one line, libbson's relaxed Extended JSON).
    package var json: Document {
        var d = Document()
        d["database"] = .string(database)
        d["collection"] = .string(collection)
        d["versionField"] = .string(versionField)
        d["absentMeans"] = .int64(Int64(absentMeans))
        d["knownVersions"] = ["oldest": .int64(Int64(knownVersions.lowerBound)), "newest": .int64(Int64(knownVersions.upperBound))]
        d["versions"] = .array(knownVersions.map { v in
            var row: Document = ["version": .int64(Int64(v)), "count": .int64(Int64(counts[v] ?? 0))]
            if v == absentMeans { row["withoutField"] = .int64(Int64(documentsWithoutField)) }
            return .document(row)
        })
        d["unknownVersions"] = .array(unknownVersions.sorted { $0.key < $1.key }.map {
            ["version": .int64(Int64($0.key)), "count": .int64(Int64($0.value))]
        })
        d["nonInteger"] = .array(nonInteger.map {
            ["value": $0.value, "type": .string($0.value.typeName), "count": .int64(Int64($0.count))]
        })
        d["total"] = .int64(Int64(total))
        switch strategy {
        case .versionIndex(let name, let stages, let queries):
            d["strategy"] = ["kind": "index", "index": .string(name), "stages": .array(stages.map(BSON.string)),
                             "queries": .int64(Int64(queries))]
        case .groupScan(let reason):
            d["strategy"] = ["kind": "scan", "reason": .string(reason)]
        }
        return d
    }

    /// `12345` → `12,345` (the CLI's progress lines use it too).
    package static func grouped(_ n: Int) -> String {
        let digits = String(n.magnitude)
        var out = ""
        for (i, c) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
            out.append(c)
        }
        return (n < 0 ? "-" : "") + out
    }

    /// One decimal, but never "0.0%" for a non-zero share nor "100.0%" for less than all.
    static func percent(_ p: Double) -> String {
        if p > 0 && p < 0.05 { return "<0.1%" }
        if p < 100 && p > 99.95 { return ">99.9%" }
        let tenths = Int((p * 10).rounded())
        return "\(tenths / 10).\(tenths % 10)%"
    }
}
