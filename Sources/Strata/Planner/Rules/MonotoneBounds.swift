import StrataBSON
import StrataEvaluator

/// Index-friendly supersets for range predicates on a monotone conversion.
///
/// For a newest value `f(x)` of a stored field `x`, with `f` non-decreasing
/// (or non-increasing) and an inverse `g`, a predicate like `f(x) >= c` holds
/// only for `x > b` whenever `f(b) < c`. The bound `b` is searched near `g(c)`
/// (nudging `c` and `g(c)` outward) and *checked* with `f` in Swift, so the
/// superset is sound even when `g` is only approximately the inverse (Celsius
/// from Fahrenheit) or maps to a coarser value (a date to its day's string).
/// The exact predicate always runs as well; the superset only lets the server
/// use an index on the stored field.
enum MonotoneBounds {
    static func superset(for predicates: [FieldPredicate], source: MonotoneSource?) -> Query? {
        guard let source else { return nil }
        var lower: BSON?  // stored x must be > lower
        var upper: BSON?  // stored x must be < upper
        func tighten(_ bound: BSON?, isLower: Bool) {
            guard let bound else { return }
            if isLower {
                if lower == nil || BSONOrder.compare(bound, lower) > 0 { lower = bound }
            } else {
                if upper == nil || BSONOrder.compare(bound, upper) < 0 { upper = bound }
            }
        }
        for p in predicates {
            switch p {
            case .gte(let c): applyLower(c, strict: false, source, tighten)
            case .gt(let c): applyLower(c, strict: true, source, tighten)
            case .lte(let c): applyUpper(c, strict: false, source, tighten)
            case .lt(let c): applyUpper(c, strict: true, source, tighten)
            case .eq(let c):
                applyLower(c, strict: false, source, tighten)
                applyUpper(c, strict: false, source, tighten)
            default: continue
            }
        }
        var preds: [FieldPredicate] = []
        if let lower { preds.append(.gt(lower)) }
        if let upper { preds.append(.lt(upper)) }
        return preds.isEmpty ? nil : .field(path: source.storedPath.joined(separator: "."), preds)
    }

    /// `f(x) >= c` (or `> c`): an increasing f bounds x from below, a decreasing one from above.
    static func applyLower(_ c: BSON, strict: Bool, _ s: MonotoneSource, _ tighten: (BSON?, Bool) -> Void) {
        guard isOrderable(c) else { return }
        // Need b with f(b) < c (or <= c when strict): then every x on the far side of b fails.
        let b = search(c, s, wantBelow: true, allowEqual: strict)
        tighten(b, s.increasing)
    }

    static func applyUpper(_ c: BSON, strict: Bool, _ s: MonotoneSource, _ tighten: (BSON?, Bool) -> Void) {
        guard isOrderable(c) else { return }
        let b = search(c, s, wantBelow: false, allowEqual: strict)
        tighten(b, !s.increasing)
    }

    static func isOrderable(_ c: BSON) -> Bool {
        switch c {
        case .int32, .int64, .double, .date, .string: if case .double(let d) = c { return d.isFinite }; return true
        default: return false
        }
    }

    /// A stored value b with f(b) below c (wantBelow) or above c, strictly unless allowEqual.
    static func search(_ c: BSON, _ s: MonotoneSource, wantBelow: Bool, allowEqual: Bool) -> BSON? {
        func ok(_ b: BSON) -> Bool {
            guard let fb = try? Evaluator.evaluate(s.forward, [:], Variables(["value": b])) else { return false }
            guard sameBracket(fb, c) else { return false }
            let cmp = BSONOrder.compare(fb, c)
            return wantBelow ? (cmp < 0 || (allowEqual && cmp == 0)) : (cmp > 0 || (allowEqual && cmp == 0))
        }
        func inverse(_ t: BSON) -> BSON? { try? Evaluator.evaluate(s.inverse, [:], Variables(["value": t])) ?? nil }
        // Nudge the stored candidate away from c: down when f(b) must be below c for an
        // increasing f, up for a decreasing one.
        let storedDown = wantBelow == s.increasing
        for j in 0..<64 {
            if let t = nudge(c, down: wantBelow, step: j), let b = inverse(t), ok(b) { return b }
            if let b0 = inverse(c), let b = nudge(b0, down: storedDown, step: j), ok(b) { return b }
        }
        return nil
    }

    static func sameBracket(_ a: BSON, _ b: BSON) -> Bool {
        switch (a, b) {
        case (.int32, _), (.int64, _), (.double, _), (.decimal128, _): return b.isNumber
        case (.date, .date), (.string, .string): return true
        default: return false
        }
    }

    /// `v` moved by a growing step (step 0: unchanged), or nil when it cannot move.
    static func nudge(_ v: BSON, down: Bool, step: Int) -> BSON? {
        if step == 0 { return v }
        let sign: Double = down ? -1 : 1
        switch v {
        case .double(let d):
            var x = d
            for _ in 0..<(1 << min(step - 1, 6)) { x = down ? x.nextDown : x.nextUp }
            if step > 7 { x += sign * Swift.max(abs(d), 1) * pow(2, Double(step - 60)) }
            return .double(x)
        case .int32(let i): return .double(Double(i) + sign * pow(2, Double(step - 30)))
        case .int64(let i): return .double(Double(i) + sign * pow(2, Double(step - 30)))
        case .date(let ms):
            let delta = Int64(1) << Int64(min(step - 1, 40))
            return .date(down ? ms &- delta : ms &+ delta)
        default: return nil
        }
    }
}

import Foundation
