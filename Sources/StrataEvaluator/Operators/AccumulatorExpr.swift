import StrataBSON

extension EvalContext {
    /// `$sum`, `$avg`, `$min`, `$max`, `$stdDevPop`, `$stdDevSamp` as expressions: one
    /// argument that is an array is accumulated element by element; otherwise every argument.
    static let accumulatorExprOps: [String: OpFn] = [
        "$sum": { c, a in var acc = SumAccumulator(); return try accumulateArgs(c, a, &acc) },
        "$avg": { c, a in var acc = AvgAccumulator(); return try accumulateArgs(c, a, &acc) },
        "$min": { c, a in var acc = MinMaxAccumulator(isMax: false); return try accumulateArgs(c, a, &acc) },
        "$max": { c, a in var acc = MinMaxAccumulator(isMax: true); return try accumulateArgs(c, a, &acc) },
        "$stdDevPop": { c, a in var acc = StdDevAccumulator(sample: false); return try accumulateArgs(c, a, &acc) },
        "$stdDevSamp": { c, a in var acc = StdDevAccumulator(sample: true); return try accumulateArgs(c, a, &acc) },
        "$percentile": { c, a in try percentileExpr("$percentile", c, a) },
        "$median": { c, a in try percentileExpr("$median", c, a) },
    ]

    static func percentileExpr(_ op: String, _ c: EvalContext, _ a: ExprArgs) throws -> BSON? {
        guard let options = PercentileOptions(op: op, a), case .named(let args) = a,
              let input = args.first(where: { $0.0 == "input" })?.1 else {
            throw evalError("\(op): malformed arguments")
        }
        return options.evaluateExpression(try c.eval(input))
    }

    static func accumulateArgs<A: Accumulator>(_ c: EvalContext, _ a: ExprArgs, _ acc: inout A) throws -> BSON? {
        let p = a.positional
        if p.count == 1 {
            let v = try c.eval(p[0])
            if case .array(let items)? = v { for x in items { try acc.accumulate(x) } } else { try acc.accumulate(v) }
        } else {
            for e in p { try acc.accumulate(try c.eval(e)) }
        }
        return try acc.finalize()
    }
}
