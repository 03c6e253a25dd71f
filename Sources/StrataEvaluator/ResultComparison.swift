import StrataBSON
import StrataLibBSON


/// Compares two answers to one pipeline (strata's and the server's on the truth in the
/// tests; the four ways of `strata bench`), as the dataset contract says: documents as unordered maps, doubles within
/// 1e-9, and the result order compared only where the pipeline defines it —
/// by its last ordering stage (documents that tie on the sort key may come in
/// any order), or natural order when nothing reorders the documents.
package enum ResultComparison {
    /// Relative 1e-9, as the contract says, plus an absolute 1e-12 for round-off
    /// around zero (the standard deviation of equal values is 0 up to the last bits,
    /// and two summation orders give different last bits).
    package static let values = BSONComparison(relativeTolerance: 1e-9, absoluteTolerance: 1e-12)

    /// `nil` when equal; otherwise what differs.
    package static func difference(_ got: [Document], _ want: [Document], pipeline: [BSON]) -> String? {
        // SecantusDB answers `$count` over no input with [{n: 0}]; mongod (and strata) with nothing.
        if got.isEmpty, want.count == 1, case .document(let last)? = pipeline.last, last["$count"] != nil,
           want[0].count == 1, want[0].values.first?.exactInt == 0
        {
            return nil
        }
        if got.count != want.count {
            return "\(got.count) results, expected \(want.count)\n  got:  \(preview(got))\n  want: \(preview(want))"
        }
        switch order(of: pipeline) {
        case .natural:
            return values.difference(got, want)
        case .unordered:
            return multisetDifference(got, want)
        case .sorted(let pattern):
            return sortedDifference(got, want, pattern)
        case .facets(let facets):
            guard got.count == 1, want.count == 1 else { return values.difference(got, want) }
            // Stages after the `$facet` may have dropped, replaced or added fields: a facet
            // still an array on both sides compares by its own pipeline's order, the rest exactly.
            var compared: Set<String> = []
            for (name, sub) in facets {
                guard case .array(let g)? = got[0][name], case .array(let w)? = want[0][name] else { continue }
                if let d = difference(g.compactMap(\.documentValue), w.compactMap(\.documentValue), pipeline: sub) {
                    return "facet \(name): \(d)"
                }
                compared.insert(name)
            }
            func rest(_ d: Document) -> Document { Document(d.filter { !compared.contains($0.key) }.map { ($0.key, $0.value) }) }
            return values.difference([rest(got[0])], [rest(want[0])])
        }
    }

    enum Order {
        case natural, unordered
        case sorted(SortPattern)
        case facets([(String, [BSON])])
    }

    static func order(of pipeline: [BSON]) -> Order {
        for stage in pipeline.reversed() {
            guard case .document(let d) = stage, let (name, spec) = d.fields.first.map({ ($0.key, $0.value) }) else { return .unordered }
            switch name {
            case "$sort":
                guard case .document(let s) = spec, let p = try? SortPattern.parse(s, at: Location()) else { return .unordered }
                return .sorted(p)
            case "$sortByCount": return .sorted(SortPattern(components: [.init(path: ["count"], ascending: false)]))
            case "$bucket", "$bucketAuto": return .sorted(SortPattern(components: [.init(path: ["_id"], ascending: true)]))
            case "$facet":
                guard case .document(let f) = spec else { return .unordered }
                return .facets(f.compactMap { k, v in v.arrayValue.map { (k, $0) } })
            case "$limit", "$skip", "$project", "$addFields", "$set", "$unset", "$match", "$unwind", "$lookup", "$count",
                 "$replaceRoot", "$replaceWith":
                continue
            default:
                return .unordered
            }
        }
        return .natural
    }

    static func canonical(_ d: Document) -> String {
        func sortKeys(_ v: BSON) -> BSON {
            switch v {
            case .document(let doc): return .document(Document(doc.sorted { $0.key < $1.key }.map { ($0.key, sortKeys($0.value)) }))
            case .array(let a): return .array(a.map(sortKeys))
            case .double(let x): return .double((x * 1e6).rounded() / 1e6)
            default: return v
            }
        }
        return ExtendedJSON.string(sortKeys(.document(d)), mode: .canonical)
    }

    static func multisetDifference(_ got: [Document], _ want: [Document]) -> String? {
        let g = got.map { (canonical($0), $0) }.sorted { $0.0 < $1.0 }.map(\.1)
        let w = want.map { (canonical($0), $0) }.sorted { $0.0 < $1.0 }.map(\.1)
        return values.difference(g, w)
    }

    static func sortedDifference(_ got: [Document], _ want: [Document], _ pattern: SortPattern) -> String? {
        // Runs of documents with equal sort keys compare as multisets.
        func keys(_ docs: [Document]) -> [[BSON]]? {
            var out: [[BSON]] = []
            for d in docs {
                guard pattern.components.allSatisfy({ d.value(atPath: $0.path) != nil }), let k = try? pattern.key(.document(d)) else { return nil }
                out.append(k)
            }
            return out
        }
        guard let gk = keys(got), let wk = keys(want) else { return values.difference(got, want) }
        var i = 0
        while i < want.count {
            var j = i + 1
            while j < want.count && pattern.compare(wk[j], wk[i]) == 0 { j += 1 }
            // A sort key that is a sum of doubles differs in its last bits between two
            // summation orders: keys within the tolerance are the same key.
            for k in i..<j where pattern.compare(gk[k], wk[i]) != 0 && values.difference(.array(gk[k]), .array(wk[i])) != nil {
                return "#\(k): sort key \(ExtendedJSON.string(.array(gk[k]))) vs \(ExtendedJSON.string(.array(wk[i])))\n  got:  \(preview(Array(got[i..<j])))\n  want: \(preview(Array(want[i..<j])))"
            }
            if let d = multisetDifference(Array(got[i..<j]), Array(want[i..<j])) { return "#\(i)..<\(j): \(d)" }
            i = j
        }
        return nil
    }

    static func preview(_ docs: [Document]) -> String {
        docs.prefix(3).map { ExtendedJSON.string($0) }.joined(separator: ", ") + (docs.count > 3 ? ", ..." : "")
    }
}
