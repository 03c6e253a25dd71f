import StrataBSON
import StrataEvaluator
import StrataLens

/// Index-friendly supersets for equality predicates on a conversion whose inverse the
/// lens declares exact (`inverseExact`: `g(f(x)) == x` for every stored `x`).
///
/// Then `f(x) == c` holds exactly when `x == g(c)` and `f(g(c)) == c`: `{new: c}`
/// becomes `{stored: g(c)}`, and `{new: {$in: [c1, c2]}}` the `$in` of the candidates.
/// Every constant is round-tripped first: when `f(g(c))` is not exactly `c` (a
/// rounding in `g`, a claim that does not hold for `c`) that predicate gets no superset
/// and its exact computed form answers alone — never "no stored value converts to c". Only
/// for plain values (strings, finite numbers, booleans, dates, ObjectIds): null also
/// matches a missing field, a regex or an array would match differently. The exact
/// predicate on the converted value still runs; the superset lets the server use an
/// index on the stored field (`region: "eu-west", kind: "refund"` → `type: "Refund"`).
enum InverseEquality {
    static func superset(for predicates: [FieldPredicate], source: MonotoneSource?) -> Query? {
        guard let source else { return nil }
        var candidates: [BSON]?
        predicates: for p in predicates {
            let values: [BSON]
            switch p {
            case .eq(let c): values = [c]
            case .in(let cs): values = cs
            default: continue
            }
            guard values.allSatisfy(isPlain) else { continue }
            var stored: [BSON] = []
            for c in values {
                // Every constant must round-trip: `f(g(c))` exactly `c`, and `g(c)` must be
                // the only value of its type near it that converts to `c`. When not, the
                // claim does not hold around `c` — `ms / 1000` back through `* 1000`: 1.001
                // gives 1000.9999999999999, which converts back to 1.001, but so does the
                // stored 1001 — so no stored equality is derived for this predicate: the
                // exact predicate on the computed value answers alone.
                guard let x = storedValue(for: c, forward: { evaluate(source.forward, $0) }, inverse: { evaluate(source.inverse, $0) }),
                      isPlain(x)
                else { continue predicates }
                if !stored.contains(where: { BSONOrder.compare($0, x) == 0 }) { stored.append(x) }
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

    /// `back` is `c` exactly: the same type class and the same value (numbers by value
    /// across int, long, double and decimal, as an equality matches them).
    static func roundTrips(_ back: BSON, _ c: BSON) -> Bool {
        guard back.isNumber == c.isNumber else { return false }
        if !back.isNumber && back != c { return false }
        return BSONOrder.compare(back, c) == 0
    }

    /// The stored value `g(c)` when it round-trips (`f(g(c))` exactly `c`) and no value
    /// next to it converts to `c` as well; nil otherwise: then an equality on `c` cannot
    /// become an equality on the stored field. Also used for primary-key lookups.
    static func storedValue(for c: BSON, forward: (BSON) -> BSON?, inverse: (BSON) -> BSON?) -> BSON? {
        guard let x = inverse(c), let back = forward(x), roundTrips(back, c),
              !neighbourConverts(to: c, near: x, forward)
        else { return nil }
        return x
    }

    /// True when a value adjacent to `x` in `x`'s own type (the next double either
    /// way, the next integer, the next millisecond) converts to `c` too: then `f` is not
    /// one-to-one at `x` and `{stored: x}` would miss documents. For a monotone `f` the
    /// values converting to `c` are an interval, so when `x` is not alone in it one of
    /// its neighbours is there as well (integers stored where `g` gives a double included).
    static func neighbourConverts(to c: BSON, near x: BSON, _ forward: (BSON) -> BSON?) -> Bool {
        let neighbours: [BSON]
        switch x {
        case .double(let d): neighbours = [.double(d.nextDown), .double(d.nextUp)]
        case .int32(let i): neighbours = [.int64(Int64(i) - 1), .int64(Int64(i) + 1)]
        case .int64(let i): neighbours = [.int64(i &- 1), .int64(i &+ 1)]
        case .date(let ms): neighbours = [.date(ms &- 1), .date(ms &+ 1)]
        default: return false
        }
        return neighbours.contains { n in forward(n).map { roundTrips($0, c) } ?? false }
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
