import StrataBSON
import StrataLibBSON

/// A sort specification (`$sort`, `$topN`'s `sortBy`, `$sortArray`'s `sortBy`) and
/// MongoDB's sort-key rules.
///
/// The key of a document for one component is taken from every value the path reaches
/// (through arrays of documents; a leaf array contributes its elements, an empty array the
/// value `undefined`, which sorts before null; a missing path contributes null): ascending
/// uses the smallest of them, descending the largest (mongod's SortKeyGenerator). Keys
/// compare in BSON order; equal keys keep their input order (the sort is stable).
/// When several components reach arrays the keys are correlated in mongod (compound
/// index-key generation); strata refuses that case with `.unsupported` rather than
/// guessing, and reports parallel arrays as mongod does.
public struct SortPattern: Sendable, Equatable {
    package struct Component: Sendable, Equatable {
        package var path: [String]
        package var ascending: Bool
        package init(path: [String], ascending: Bool) { self.path = path; self.ascending = ascending }
    }

    package var components: [Component]
    /// `$sortArray: {sortBy: 1 | -1}`: sort the elements by their whole value.
    package var wholeValueAscending: Bool?

    package init(components: [Component]) { self.components = components; self.wholeValueAscending = nil }
    package init(wholeValueAscending: Bool) { self.components = []; self.wholeValueAscending = wholeValueAscending }

    /// Parses `{a: 1, "b.c": -1}` (values 1 or -1 as int, long or double).
    package static func parse(_ spec: Document, at loc: Location, what: String = "$sort") throws -> SortPattern {
        if spec.isEmpty { throw StrataError.badInput("\(what) must have at least one sort key", at: loc) }
        var comps: [Component] = []
        for (k, v) in spec {
            let kl = loc.appending(k)
            if case .document(let d) = v, d["$meta"] != nil {
                throw StrataError.unsupported("sorting by $meta is not supported by strata's evaluator", at: kl)
            }
            guard let n = v.doubleValue, v.isNumber, n == 1 || n == -1 else {
                throw StrataError.badInput("\(what) key ordering must be 1 (for ascending) or -1 (for descending)", at: kl)
            }
            let path = k.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
            if path.contains(where: \.isEmpty) || k.hasPrefix("$") {
                throw StrataError.badInput("\(what): invalid sort field name '\(k)'", at: kl)
            }
            comps.append(Component(path: path, ascending: n == 1))
        }
        return SortPattern(components: comps)
    }

    /// `$sortArray`'s sortBy: 1, -1, or a sort document.
    package static func parseSortArraySpec(_ v: BSON, at loc: Location) throws -> SortPattern {
        if case .document(let d) = v { return try parse(d, at: loc, what: "$sortArray sortBy") }
        if let n = v.doubleValue, v.isNumber, n == 1 || n == -1 { return SortPattern(wholeValueAscending: n == 1) }
        throw StrataError.badInput("$sortArray requires sortBy to be 1, -1 or a sort document", at: loc)
    }

    package var bson: BSON {
        if let w = wholeValueAscending { return .int32(w ? 1 : -1) }
        return .document(Document(components.map { ($0.path.joined(separator: "."), .int32($0.ascending ? 1 : -1)) }))
    }

    // MARK: keys

    /// The sort key of a value (a document for field components).
    package func key(_ v: BSON) throws -> [BSON] {
        if let w = wholeValueAscending { _ = w; return [v] }
        var out: [BSON] = []
        out.reserveCapacity(components.count)
        var arrays = 0
        for c in components {
            var cands: [BSON] = []
            var sawArray = false
            SortPattern.collect(c.path[...], from: v, into: &cands, sawArray: &sawArray)
            if sawArray { arrays += 1 }
            out.append(SortPattern.pick(cands, ascending: c.ascending))
        }
        if arrays > 1 {
            throw StrataError.unsupported("sorting on several fields that reach arrays in the same document is not supported by strata's evaluator")
        }
        return out
    }

    /// The key of already-extracted per-component values (e.g. `$top`'s sortFields: the
    /// aggregation values of each sortBy path): arrays contribute their elements.
    package func key(values: [BSON?]) throws -> [BSON] {
        var out: [BSON] = []
        var arrays = 0
        for (c, v) in zip(components, values) {
            var cands: [BSON] = []
            switch v {
            case .array(let items)?:
                arrays += 1
                cands = items.isEmpty ? [.undefined] : items
            case let x?: cands = [x]
            case nil: cands = [.null]
            }
            out.append(SortPattern.pick(cands, ascending: c.ascending))
        }
        if arrays > 1 { throw evalError("cannot sort with keys that are parallel arrays") }
        return out
    }

    static func pick(_ cands: [BSON], ascending: Bool) -> BSON {
        guard var best = cands.first else { return .null }
        for x in cands.dropFirst() {
            let c = BSONOrder.compare(x, best)
            if ascending ? c < 0 : c > 0 { best = x }
        }
        return best
    }

    /// Index-key style traversal: documents descend, arrays on the way are traversed
    /// (document elements descend; a numeric component also indexes the array), a leaf array
    /// contributes its elements (`undefined` when empty), a missing leaf contributes null.
    static func collect(_ path: ArraySlice<String>, from v: BSON?, into out: inout [BSON], sawArray: inout Bool) {
        guard let first = path.first else {
            switch v {
            case .array(let items)?:
                sawArray = true
                if items.isEmpty { out.append(.undefined) } else { out += items }
            case let x?: out.append(x)
            case nil: out.append(.null)
            }
            return
        }
        switch v {
        case .document(let d)?:
            collect(path.dropFirst(), from: d[first], into: &out, sawArray: &sawArray)
        case .array(let items)?:
            sawArray = true
            if let idx = Int(first), idx >= 0, first.allSatisfy(\.isASCII) {
                collect(path.dropFirst(), from: idx < items.count ? items[idx] : nil, into: &out, sawArray: &sawArray)
                return
            }
            if items.isEmpty { out.append(.null); return }
            for x in items {
                if case .document = x { collect(path, from: x, into: &out, sawArray: &sawArray) } else { out.append(.null) }
            }
        default:
            out.append(.null)
        }
    }

    /// Compares two keys made by this pattern.
    package func compare(_ a: [BSON], _ b: [BSON]) -> Int {
        if let w = wholeValueAscending {
            let c = BSONOrder.compare(a[0], b[0])
            return w ? c : -c
        }
        for (i, comp) in components.enumerated() {
            let c = BSONOrder.compare(a[i], b[i])
            if c != 0 { return comp.ascending ? c : -c }
        }
        return 0
    }

    /// A stable sort of values by this pattern.
    package func sorted(_ values: [BSON]) throws -> [BSON] {
        let keyed = try values.enumerated().map { (key: try key($0.element), i: $0.offset, v: $0.element) }
        return keyed.sorted { a, b in
            let c = compare(a.key, b.key)
            return c != 0 ? c < 0 : a.i < b.i
        }.map(\.v)
    }
}
