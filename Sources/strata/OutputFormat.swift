import ArgumentParser
import Foundation
import Strata
import StrataBSON
import StrataLibBSON

/// How `strata run` prints results.
enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case jsonl, json, csv, table

    /// Writes results as they come (jsonl, json) or once all are in (csv, table: columns need every row).
    final class Writer {
        let format: OutputFormat
        private var rows: [Document] = []
        private var count = 0
        private var out = FileHandle.standardOutput
        private var buffer = ""
        /// jsonl and json: canonical Extended JSON (every BSON type kept: int32, int64, double and
        /// decimal stay apart) instead of relaxed.
        private let mode: ExtendedJSON.Mode

        init(_ format: OutputFormat, canonical: Bool = false) {
            self.format = format
            mode = canonical ? .canonical : .relaxed
        }

        func write(_ doc: Document) {
            switch format {
            case .jsonl:
                emit(ExtendedJSON.string(doc, mode: mode) + "\n")
            case .json:
                emit((count == 0 ? "[\n  " : ",\n  ") + ExtendedJSON.string(doc, mode: mode))
            case .csv, .table:
                rows.append(doc)
            }
            count += 1
        }

        func finish() {
            switch format {
            case .jsonl: break
            case .json: emit(count == 0 ? "[]\n" : "\n]\n")
            case .csv: emit(Self.csv(rows))
            case .table: emit(Self.table(rows))
            }
            flush()
        }

        private func emit(_ s: String) {
            buffer += s
            if buffer.utf8.count > 1 << 16 { flush() }
        }

        private func flush() {
            out.write(Data(buffer.utf8))
            buffer = ""
        }

        /// Columns: top-level keys in order of first appearance.
        static func columns(_ rows: [Document]) -> [String] {
            var seen = Set<String>(), cols: [String] = []
            for r in rows { for k in r.keys where seen.insert(k).inserted { cols.append(k) } }
            return cols
        }

        /// A cell: strings as they are, numbers and dates readable, the rest as relaxed Extended JSON.
        static func cell(_ v: BSON?) -> String {
            guard let v else { return "" }
            switch v {
            case .string(let s): return s
            case .int32(let i): return String(i)
            case .int64(let i): return String(i)
            case .double(let d): return d.rounded() == d && abs(d) < 1e15 ? String(format: "%.1f", d) : "\(d)"
            case .bool(let b): return b ? "true" : "false"
            case .null: return "null"
            case .date(let ms):
                let f = ISO8601DateFormatter()
                f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
                return f.string(from: Date(timeIntervalSince1970: Double(ms) / 1000))
            case .objectId(let o): return o.hex
            case .decimal128(let d): return d.description
            default: return ExtendedJSON.string(v)
            }
        }

        static func csv(_ rows: [Document]) -> String {
            let cols = columns(rows)
            func quote(_ s: String) -> String {
                s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" })
                    ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
            }
            var out = cols.map(quote).joined(separator: ",") + "\n"
            for r in rows { out += cols.map { quote(cell(r[$0])) }.joined(separator: ",") + "\n" }
            return out
        }

        static func table(_ rows: [Document]) -> String {
            let cols = columns(rows)
            if cols.isEmpty { return "(no results)\n" }
            let maxWidth = 48
            func clip(_ s: String) -> String {
                let flat = s.replacingOccurrences(of: "\n", with: " ")
                return flat.count > maxWidth ? String(flat.prefix(maxWidth - 1)) + "…" : flat
            }
            let cells = rows.map { r in cols.map { clip(cell(r[$0])) } }
            var widths = cols.map(\.count)
            for row in cells { for (i, c) in row.enumerated() { widths[i] = max(widths[i], c.count) } }
            func line(_ values: [String], numeric: [Bool]) -> String {
                values.enumerated().map { i, v in
                    let pad = String(repeating: " ", count: widths[i] - v.count)
                    return numeric[i] ? pad + v : v + pad
                }.joined(separator: "  ").replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression) + "\n"
            }
            let numeric = cols.map { c in rows.allSatisfy { $0[c]?.isNumber ?? true } && rows.contains { $0[c] != nil } }
            var out = line(cols, numeric: numeric)
            out += widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ") + "\n"
            for row in cells { out += line(row, numeric: numeric) }
            out += "(\(rows.count) result\(rows.count == 1 ? "" : "s"))\n"
            return out
        }
    }
}
