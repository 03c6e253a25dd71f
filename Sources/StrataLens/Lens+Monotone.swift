import StrataEvaluator

/// A newest path whose value is an order-preserving (or -reversing) function of
/// one stored field: what a range predicate needs to become an index-friendly
/// range on the stored field.
package struct MonotoneSource: Sendable {
    /// The stored field, at the stored version.
    package let storedPath: [String]
    /// The newest value from the stored one (`$$value`).
    package let forward: Expr
    /// The stored value from the newest one (`$$value`).
    package let inverse: Expr
    package let increasing: Bool
}

extension Lens {
    /// The monotone conversion behind `path` at `version`, when the path comes
    /// from one stored field through renames and exactly one `convert`
    /// declared `monotone` with an inverse.
    package func monotoneSource(of path: [String], atVersion version: Int) -> MonotoneSource? {
        convertSource(of: path, atVersion: version) { $0.monotone != nil }
    }

    /// The conversion behind `path` at `version` whose inverse is declared exact
    /// (`inverseExact`: `inverse(expr(x)) == x` for every stored `x`), when the path
    /// comes from one stored field through renames and exactly one such `convert`.
    /// Then `expr(x) == c` holds exactly when `x == inverse(c)` and
    /// `expr(inverse(c)) == c`: an equality on the new value is an equality on the
    /// stored one, which an index on the stored field serves.
    package func exactInverseSource(of path: [String], atVersion version: Int) -> MonotoneSource? {
        convertSource(of: path, atVersion: version) { $0.inverseExact }
    }

    func convertSource(of path: [String], atVersion version: Int, accept: (ConvertOperation) -> Bool) -> MonotoneSource? {
        var p = path
        var found: (forward: Expr, inverse: Expr, increasing: Bool)?
        for op in operations(from: version).reversed() {
            if found == nil, let c = op as? ConvertOperation, DocumentPaths.isWithin(p, c.to),
               accept(c), let inverse = c.inverse
            {
                let rest = Array(p.dropFirst(c.to.count))
                var forward = c.expr
                var remaining = rest[...]
                while let key = remaining.first, case .object(let pairs) = forward {
                    guard let sub = pairs.first(where: { $0.0 == key }) else { return nil }
                    forward = sub.1
                    remaining = remaining.dropFirst()
                }
                guard remaining.isEmpty, forward.fieldPaths.isEmpty, !forward.usesRoot else { return nil }
                // The inverse reads `$$value.<rest>`: make it read the bare value instead.
                var ok = true
                let inv = inverse.rewritingVariable("value") { vp -> Expr in
                    if vp == rest { return .variable("value", []) }
                    ok = false
                    return .variable("value", vp)
                }
                guard ok, inv.fieldPaths.isEmpty else { return nil }
                found = (forward, inv, c.monotone != .decreasing)
                p = c.field
                continue
            }
            let s = op.source(of: p)
            guard case .path(let q) = s.value, s.lookups.isEmpty else { return nil }
            p = q
        }
        guard let found else { return nil }
        return MonotoneSource(storedPath: p, forward: found.forward, inverse: found.inverse, increasing: found.increasing)
    }
}
