import Foundation
import StrataBSON
import StrataLibBSON

/// Compares BSON values the way the dataset contract says: documents as
/// unordered maps, arrays in order, exact types, and doubles either bit for
/// bit (`relativeTolerance == 0`) or within a relative tolerance.
package struct BSONComparison: Sendable {
    package var relativeTolerance: Double
    package var absoluteTolerance: Double
    package init(relativeTolerance: Double = 0, absoluteTolerance: Double = 0) {
        self.relativeTolerance = relativeTolerance
        self.absoluteTolerance = absoluteTolerance
    }

    /// `nil` when equal; otherwise the path of the first difference and what differs.
    package func difference(_ a: BSON, _ b: BSON, path: String = "") -> String? {
        switch (a, b) {
        case (.document(let x), .document(let y)): return difference(x, y, path: path)
        case (.array(let x), .array(let y)):
            if x.count != y.count { return "\(path): array lengths \(x.count) vs \(y.count)" }
            for (i, (u, v)) in zip(x, y).enumerated() {
                if let d = difference(u, v, path: path + "[\(i)]") { return d }
            }
            return nil
        case (.double(let x), .double(let y)):
            if x.bitPattern == y.bitPattern || (x.isNaN && y.isNaN) { return nil }
            if relativeTolerance > 0 {
                let scale = max(abs(x), abs(y))
                if abs(x - y) <= relativeTolerance * scale { return nil }
            }
            if absoluteTolerance > 0 && abs(x - y) <= absoluteTolerance { return nil }
            return "\(path): \(x) vs \(y)"
        default:
            return a == b ? nil : "\(path): \(ExtendedJSON.string(a, mode: .canonical)) vs \(ExtendedJSON.string(b, mode: .canonical))"
        }
    }

    package func difference(_ a: Document, _ b: Document, path: String = "") -> String? {
        let ak = Set(a.keys), bk = Set(b.keys)
        if ak != bk {
            return "\(path.isEmpty ? "/" : path): keys \(ak.subtracting(bk).sorted()) only left, \(bk.subtracting(ak).sorted()) only right"
        }
        for (k, v) in a {
            if let d = difference(v, b[k]!, path: path + "." + k) { return d }
        }
        return nil
    }

    /// Compares two result lists in order.
    package func difference(_ a: [Document], _ b: [Document]) -> String? {
        if a.count != b.count { return "result counts \(a.count) vs \(b.count)" }
        for (i, (x, y)) in zip(a, b).enumerated() {
            if let d = difference(x, y, path: "#\(i)") { return d }
        }
        return nil
    }
}
