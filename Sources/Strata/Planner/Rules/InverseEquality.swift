import StrataEvaluator
import StrataLens

/// Index-friendly supersets for equality predicates on a conversion whose inverse the
/// lens declares exact (`inverseExact`: `g(f(x)) == x` for every stored `x`).
///
/// Then `f(x) == c` holds exactly when `x == g(c)` and `f(g(c)) == c`: `{new: c}`
/// becomes `{stored: g(c)}` (or nothing at all when `f(g(c)) != c`: no stored value
/// converts to `c`), and `{new: {$in: [c1, c2]}}` the `$in` of the candidates. Only
/// for plain values (strings, finite numbers, booleans, dates, ObjectIds): null also
/// matches a missing field, a regex or an array would match differently. The exact
/// predicate on the converted value still runs; the superset lets the server use an
/// index on the stored field (`region: "eu-west", kind: "refund"` → `type: "Refund"`).
enum InverseEquality {
    static func superset(for predicates: [FieldPredicate], source: MonotoneSource?) -> Query? {
        guard let source else { return nil }
        var candidates: [BSON]?
        for p in predicates {
            let values: [BSON]
            switch p {
            case .eq(let c): values = [c]
            case .in(let cs): values = cs
            default: continue
            }
            guard values.allSatisfy(isPlain) else { continue }
            var stored: [BSON] = []
            for c in values {
                guard let x = evaluate(source.inverse, c) else { return nil }
                guard let back = evaluate(source.forward, x) else { return nil }
                if BSONOrder.compare(back, c) == 0, isPlain(x), !stored.contains(where: { BSONOrder.compare($0, x) == 0 }) {
                    stored.append(x)
                }
            }
            // Several equalities: their conjunction.
            if let previous = candidates {
                stored = stored.filter { x in previous.contains { BSONOrder.compare($0, x) == 0 } }
            }
            candidates = stored
        }
        guard let candidates else { return nil }
        if candidates.isEmpty { return .alwaysFalse }
        let path = source.storedPath.joined(separator: ".")
        return .field(path: path, [candidates.count == 1 ? .eq(candidates[0]) : .in(candidates)])
    }

    static func isPlain(_ v: BSON) -> Bool {
        switch v {
        case .string, .bool, .date, .objectId, .int32, .int64, .decimal128: return true
        case .double(let d): return d.isFinite
        default: return false
        }
    }

    static func evaluate(_ e: Expr, _ value: BSON) -> BSON? {
        (try? Evaluator.evaluate(e, [:], Variables(["value": value]))) ?? nil
    }
}
