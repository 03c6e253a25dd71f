import StrataBSON

extension Expr {
    /// The expression written back in the form the server accepts; `Expr.parse(e.bson) == e`.
    /// Literals that would otherwise parse as something else (strings starting with `$`,
    /// documents, arrays) are wrapped in `$literal`.
    package var bson: BSON {
        switch self {
        case .literal(let v):
            switch v {
            case .string(let s) where s.hasPrefix("$"): return ["$literal": v]
            case .document, .array: return ["$literal": v]
            default: return v
            }
        case .fieldPath(let p): return .string("$" + p.joined(separator: "."))
        case .variable(let n, let p): return .string("$$" + ([n] + p).joined(separator: "."))
        case .array(let items): return .array(items.map(\.bson))
        case .object(let fields): return .document(Document(fields.map { ($0.0, $0.1.bson) }))
        case .op(let name, let args):
            switch args {
            case .positional(let a): return .document(Document([(name, .array(a.map(\.bson)))]))
            case .named(let pairs):
                var d = Document()
                for (k, v) in pairs {
                    switch (name, k, v) {
                    case (_, "as", .literal(let s)), (_, "sortBy", .literal(let s)),
                         (_, "useLongestLength", .literal(let s)), ("$percentile", "p", .literal(let s)):
                        d.append(k, s)  // raw literal arguments are written as given
                    default:
                        d.append(k, v.bson)
                    }
                }
                return .document(Document([(name, .document(d))]))
            }
        }
    }
}
