import StrataBSON
import StrataEvaluator

/// Path helpers for lens operations: read, take out and put back values at
/// dotted paths of sub-documents, keeping the position of a replaced field.
/// Lens paths address sub-documents, never array elements.
enum DocumentPaths {
    static func get(_ doc: Document, _ path: [String]) -> BSON? { doc.value(atPath: path) }

    /// MongoDB field-path traversal of a value (through arrays, skipping missing).
    static func traverse(_ v: BSON, _ rest: [String]) -> BSON? {
        guard let first = rest.first else { return v }
        switch v {
        case .document(let d):
            guard let sub = d[first] else { return nil }
            return traverse(sub, Array(rest.dropFirst()))
        case .array(let a):
            return .array(a.compactMap { e -> BSON? in
                guard case .document = e else { return nil }
                return traverse(e, rest)
            })
        default: return nil
        }
    }

    /// Removes and returns the value at `path`; the index it had in its parent comes back too.
    @discardableResult
    static func take(_ doc: inout Document, _ path: [String]) -> (value: BSON, index: Int)? {
        guard let first = path.first else { return nil }
        if path.count == 1 {
            guard let i = doc.index(forKey: first) else { return nil }
            let v = doc[i].value
            doc.removeValue(forKey: first)
            return (v, i)
        }
        guard case .document(var sub)? = doc[first] else { return nil }
        let r = take(&sub, Array(path.dropFirst()))
        if r != nil { doc[first] = .document(sub) }
        return r
    }

    /// Puts `value` at `path` (creating sub-documents), at `index` in its parent when given,
    /// replacing any value there in place. `nil` removes the path.
    static func put(_ doc: inout Document, _ path: [String], _ value: BSON?, at index: Int? = nil) {
        guard let first = path.first else { return }
        if path.count == 1 {
            guard let value else { doc.removeValue(forKey: first); return }
            if doc.index(forKey: first) != nil || index == nil {
                doc[first] = value
            } else {
                doc.insert(first, value, at: index!)
            }
            return
        }
        var sub: Document
        if case .document(let d)? = doc[first] { sub = d } else {
            if value == nil { return }
            sub = Document()
        }
        put(&sub, Array(path.dropFirst()), value, at: index)
        doc[first] = .document(sub)
    }

    static func parent(_ path: [String]) -> [String] { Array(path.dropLast()) }

    /// Removes the sub-documents on the way to `path` that are left empty (an undo
    /// takes away the parents the upgrade created for a nested target).
    static func pruneEmptyParents(_ doc: inout Document, _ path: [String]) {
        guard path.count > 1 else { return }
        for n in stride(from: path.count - 1, through: 1, by: -1) {
            let p = Array(path.prefix(n))
            guard case .document(let d)? = doc.value(atPath: p), d.isEmpty else { return }
            put(&doc, p, nil)
        }
    }

    /// "an empty sub-document on the way to 'a.b' ..." for a nested target, else nil.
    static func emptyParentLoss(_ path: [String]) -> String? {
        path.count > 1 ? "an empty sub-document on the way to '\(join(path))' held before is not told from none" : nil
    }

    static func split(_ dotted: String) -> [String] {
        dotted.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
    }

    static func join(_ path: [String]) -> String { path.joined(separator: ".") }

    /// True when `a` is `b` or lies inside it.
    static func isWithin(_ a: [String], _ b: [String]) -> Bool { a.count >= b.count && Array(a.prefix(b.count)) == b }

    /// `$a.b` for an aggregation expression.
    static func ref(_ path: [String]) -> BSON { .string("$" + join(path)) }
}
