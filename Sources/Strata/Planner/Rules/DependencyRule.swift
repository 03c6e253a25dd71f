import StrataBSON
import StrataEvaluator

/// Which top-level fields of its input a list of stages reads (MongoDB's
/// DepsTracker): a branch that materialises only those fields of the newest
/// schema gives the stages exactly the documents a fully migrated collection
/// would, restricted to what they look at.
enum Dependencies: Equatable {
    /// Only these top-level fields (plus `_id`).
    case fields(Set<String>)
    /// The whole document (its output is the document, or it reads `$$ROOT`).
    case all

    static func of(_ stages: [BSON], at loc: Location) throws -> Dependencies {
        var needed = Set<String>()
        // Fields produced by earlier stages (they satisfy later reads).
        var produced = Set<String>()
        func need(_ paths: some Sequence<[String]>) {
            for p in paths { if let f = p.first, !produced.contains(f) { needed.insert(f) } }
        }
        func need(_ e: Expr) -> Bool {
            if e.usesRoot { return false }
            need(e.fieldPaths)
            return true
        }
        // An accumulator reads its argument, its `n` and its `sortBy` paths.
        func needAccumulator(_ a: AccumulatorSpec) -> Bool {
            guard need(a.argument) else { return false }
            if let n = a.n, !need(n) { return false }
            if let s = a.sortBy { need(s.components.map(\.path)) }
            return true
        }
        for (i, stage) in stages.enumerated() {
            let l = loc.appending(index: i)
            guard let (name, spec) = stage.singleField else {
                return .all
            }
            switch name {
            case "$match":
                guard case .document(let f) = spec else { return .all }
                let q = try Query.parse(f, at: l.appending(name))
                guard Self.need(query: q, &needed, produced) else { return .all }
            case "$sort":
                guard case .document(let s) = spec else { return .all }
                need(s.keys.map { Query.components($0) })
            case "$limit", "$skip":
                continue
            case "$addFields", "$set":
                guard case .document(let s) = spec else { return .all }
                for (k, v) in s {
                    let e = try Expr.parse(v, at: l.appending(k))
                    guard need(e) else { return .all }
                    // An object value is merged into an existing sub-document (mongod),
                    // and a dotted key sets a field inside one: both read the field.
                    if case .object = e { need([Query.components(k)]) }
                    if k.contains(".") { need([Query.components(k)]) }
                }
                for k in s.keys { if let f = Query.components(k).first, !k.contains(".") { produced.insert(f) } }
            case "$unset":
                continue
            case "$unwind":
                let path: String? = spec.stringValue ?? spec.documentValue?["path"]?.stringValue
                guard let path, path.hasPrefix("$") else { return .all }
                need([Query.components(String(path.dropFirst()))])
            case "$project":
                guard case .document(let s) = spec else { return .all }
                var inclusion = false
                for (k, v) in s {
                    switch v {
                    case .int32(0), .int64(0), .double(0), .bool(false): continue
                    case .int32, .int64, .double, .bool:
                        // Any included field, `_id` too ({_id: 1} keeps only _id), makes it an inclusion.
                        inclusion = true
                        need([Query.components(k)])
                    case .document(let sub) where !sub.isEmpty && !(sub.keys.first?.hasPrefix("$") ?? false):
                        // A nested projection ({reading: {tempC: 1}}): an exclusion inside
                        // keeps everything else; otherwise it reads the field (and what its
                        // expressions read).
                        if Self.nestedIsExclusion(sub) { continue }
                        if k != "_id" { inclusion = true }
                        need([Query.components(k)])
                        if !projectionValueDeps(v, at: l.appending(k), need) { return .all }
                    default:
                        // A computed field reads what its expression reads, not the field itself.
                        if k != "_id" { inclusion = true }
                        if !projectionValueDeps(v, at: l.appending(k), need) { return .all }
                    }
                }
                if inclusion { return .fields(needed) }
            case "$replaceRoot", "$replaceWith":
                let e = name == "$replaceRoot" ? spec.documentValue?["newRoot"] : spec
                guard let e, need(try Expr.parse(e, at: l)) else { return .all }
                return .fields(needed)
            case "$group":
                guard case .document(let g) = spec else { return .all }
                for (k, v) in g {
                    if k == "_id" {
                        guard need(try Expr.parse(v, at: l.appending(k))) else { return .all }
                    } else {
                        guard needAccumulator(try AccumulatorSpec.parse(v, at: l.appending(k))) else { return .all }
                    }
                }
                return .fields(needed)
            case "$count":
                return .fields(needed)
            case "$sortByCount":
                guard need(try Expr.parse(spec, at: l)) else { return .all }
                return .fields(needed)
            case "$bucket", "$bucketAuto":
                guard case .document(let b) = spec, let g = b["groupBy"] else { return .all }
                guard need(try Expr.parse(g, at: l.appending("groupBy"))) else { return .all }
                for (k, v) in b["output"]?.documentValue ?? [:] {
                    guard needAccumulator(try AccumulatorSpec.parse(v, at: l.appending("output").appending(k))) else { return .all }
                }
                return .fields(needed)
            case "$lookup":
                guard case .document(let lk) = spec else { return .all }
                if let lf = lk["localField"]?.stringValue { need([Query.components(lf)]) }
                if let lets = lk["let"]?.documentValue {
                    for (k, v) in lets { guard need(try Expr.parse(v, at: l.appending("let").appending(k))) else { return .all } }
                }
                if let a = lk["as"]?.stringValue, let f = Query.components(a).first, !a.contains(".") { produced.insert(f) }
            case "$facet":
                guard case .document(let f) = spec else { return .all }
                for (k, v) in f {
                    guard case .array(let sub) = v else { return .all }
                    switch try of(sub, at: l.appending(k)) {
                    case .all: return .all
                    case .fields(let fs): for x in fs where !produced.contains(x) { needed.insert(x) }
                    }
                }
                return .fields(needed)
            default:
                return .all
            }
        }
        // The documents themselves flow out.
        return .all
    }

    /// A nested projection object whose every leaf excludes (`{patch: 0}`, `{a: {b: false}}`).
    static func nestedIsExclusion(_ d: Document) -> Bool {
        d.values.allSatisfy { v in
            switch v {
            case .int32(0), .int64(0), .double(0), .bool(false): return true
            case .document(let sub) where !sub.isEmpty && !(sub.keys.first?.hasPrefix("$") ?? false): return nestedIsExclusion(sub)
            default: return false
            }
        }
    }

    /// Computed `$project` values: expressions, or nested projection objects.
    static func projectionValueDeps(_ v: BSON, at l: Location, _ need: ([[String]]) -> Void) -> Bool {
        guard let e = try? Expr.parse(v, at: l) else { return false }
        if e.usesRoot { return false }
        need(Array(e.fieldPaths))
        return true
    }

    static func need(query q: Query, _ needed: inout Set<String>, _ produced: Set<String>) -> Bool {
        switch q {
        case .and(let qs), .or(let qs), .nor(let qs):
            return qs.allSatisfy { need(query: $0, &needed, produced) }
        case .field(let p, _):
            if let f = Query.components(p).first, !produced.contains(f) { needed.insert(f) }
            return true
        case .expr(let e):
            if e.usesRoot { return false }
            for p in e.fieldPaths { if let f = p.first, !produced.contains(f) { needed.insert(f) } }
            return true
        case .alwaysTrue, .alwaysFalse:
            return true
        }
    }
}
