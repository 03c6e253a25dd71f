import StrataBSON
import StrataLibBSON

/// `$expMovingAvg` as mongod's window_function_expression.cpp parses it and its
/// AccumulatorExpMovingAvg computes it: over the documents from the partition's first to the
/// current one, in decimal128 — the first numeric input as it is (`coerceToDecimal`: doubles
/// to 15 digits), then `input × alpha + previous × (1 − alpha)`, each operation rounded;
/// non-numeric inputs are skipped, null until the first number; a double result (the nearest
/// double) unless some input was a decimal. `N` gives alpha = 2 / (N + 1), in decimal.
extension SetWindowFields {
    static func parseExpMovingAvg(_ out: inout Output, _ arg: BSON, window: Window?, sortBy: SortPattern?, at fl: Location) throws {
        guard window == nil, case .document(let a) = arg else {
            throw StrataError.badInput("$expMovingAvg must have exactly one argument that is an object", at: fl)
        }
        let shape = "$expMovingAvg sub object must have exactly two fields: An 'input' field, and either an 'N' field or an 'alpha' field"
        guard a.count == 2, let input = a["input"] else { throw StrataError.badInput(shape, at: fl) }
        guard sortBy != nil else { throw StrataError.badInput("$expMovingAvg requires an explicit 'sortBy'", at: fl) }
        out.argument = try Expr.parse(input, at: fl.appending("input"))
        if let n = a["N"] {
            let nl = fl.appending("N")
            guard n.isNumber else { throw StrataError.badInput("'N' field must be an integer, but found type \(n.typeName)", at: nl) }
            let d = n.doubleValue!
            guard d == d.rounded(.down) else {
                throw StrataError.badInput("'N' field must be an integer, but found  N: \(show(n)). To use a non-integer, use the 'alpha' argument instead", at: nl)
            }
            // safeNumberLong: an integral value, saturated
            let count: Int64 = {
                if case .decimal128(let x) = n { return x.toInt64(rounding: .towardZero) ?? (x.isNegative ? .min : .max) }
                return n.exactInt ?? Numeric.doubleToLongSaturating(d)
            }()
            guard count > 0 else { throw StrataError.badInput("'N' must be greater than zero. Got \(count)", at: nl) }
            out.alpha = Decimal128(2) / (Decimal128(count) + Decimal128(1))
        } else if let x = a["alpha"] {
            let al = fl.appending("alpha")
            guard x.isNumber else { throw StrataError.badInput("'alpha' must be a number", at: al) }
            let alpha = Numeric.coerceToDecimal(x)!
            guard Decimal128.compare(alpha, .zero) > 0, !alpha.isNaN, Decimal128.compare(alpha, Decimal128(1)) < 0 else {
                throw StrataError.badInput("'alpha' must be between 0 and 1 (exclusive), found alpha: \(show(x))", at: al)
            }
            out.alpha = alpha
        } else {
            throw StrataError.badInput("Got unrecognized field in $expMovingAvg" + shape, at: fl)
        }
    }
}

extension SetWindowFieldsOp {
    func expMovingAvg(_ o: SetWindowFields.Output, _ docs: [Document]) throws -> [BSON?] {
        let alpha = o.alpha!, complement = Decimal128(1) - alpha
        var current: Decimal128?
        var sawDecimal = false
        return try docs.map { doc in
            if let v = try EvalContext(root: doc, variables: ctx.variables).eval(o.argument!), v.isNumber {
                if case .decimal128 = v { sawDecimal = true }
                let x = Numeric.coerceToDecimal(v)!
                current = current.map { x * alpha + $0 * complement } ?? x
            }
            guard let current else { return .null }
            return sawDecimal ? .decimal128(current) : .double(current.toDouble().0)
        }
    }
}
