import StrataBSON
// The document and range windows of `$setWindowFields`.

extension SetWindowFieldsOp {
    /// The inclusive index range of each document's window (nil when empty).
    func windowBounds(_ w: SetWindowFields.Window, _ docs: [Document], _ n: Int) throws -> [(Int, Int)?] {
        if !w.isRange {
            return (0..<n).map { i in
                func pos(_ b: SetWindowFields.Bound, _ isLower: Bool) -> Int {
                    switch b {
                    case .unbounded: return isLower ? 0 : n - 1
                    case .current: return i
                    case .offset(let v): return i + Int(v.exactInt!)
                    }
                }
                let lo = max(0, pos(w.lower, true)), hi = min(n - 1, pos(w.upper, false))
                return lo <= hi ? (lo, hi) : nil
            }
        }
        // range windows on the single (ascending) sortBy field, as mongod's PartitionIterator:
        // 'current' is the current document itself; a numeric bound is the first / last
        // document whose value reaches base + delta (mongod adds in decimal128)
        let comp = spec.sortBy!.components[0]
        let sortValues: [BSON] = try docs.map { d in
            let v = d.value(atPath: comp.path)
            if w.unit != nil {
                guard case .date? = v else { throw evalError("Invalid range: Expected the sortBy field to be a Date, but it was \(typeName(v))") }
            } else {
                if case .date? = v { throw evalError("Invalid range: For windows that involve date or time ranges, a unit must be provided.") }
                guard let v, v.isNumber else { throw evalError("Invalid range: Expected the sortBy field to be a number, but it was \(typeName(v))") }
            }
            return v!
        }
        /// base + delta: a date, or mongod's `decimalAdd` (both coerced to decimal128, doubles
        /// rounded to 15 digits, added with decimal128 rounding), compared exactly with the
        /// documents' values by BSON order (a NaN threshold is below every number).
        func threshold(_ base: BSON, _ delta: BSON) throws -> BSON {
            if let u = w.unit {
                guard let amount = delta.exactInt else { throw evalError("With 'unit', range-based bounds must be an integer") }
                guard case .date(let ms) = base else { return base }
                return .date(try DateMath.add(ms, unit: TimeUnit(rawValue: u)!, amount: amount, zone: .utc))
            }
            return .decimal128(Numeric.coerceToDecimal(base)! + Numeric.coerceToDecimal(delta)!)
        }
        func compare(_ v: BSON, _ t: BSON) -> Int { BSONOrder.compare(v, t) }
        // first index whose value is not less than x; last index whose value is not greater
        func firstNotBelow(_ x: BSON) -> Int {
            var lo = 0, hi = n
            while lo < hi { let m = (lo + hi) / 2; if compare(sortValues[m], x) < 0 { lo = m + 1 } else { hi = m } }
            return lo
        }
        func lastNotAbove(_ x: BSON) -> Int {
            var lo = 0, hi = n
            while lo < hi { let m = (lo + hi) / 2; if compare(sortValues[m], x) <= 0 { lo = m + 1 } else { hi = m } }
            return lo - 1
        }
        var result: [(Int, Int)?] = []
        result.reserveCapacity(n)
        for i in 0..<n {
            let base = sortValues[i]
            var lower: Int
            switch w.lower {
            case .unbounded: lower = 0
            case .current: lower = i
            case .offset(let d):
                lower = firstNotBelow(try threshold(base, d))
                if lower >= n { result.append(nil); continue }
            }
            var upper: Int
            switch w.upper {
            case .unbounded: upper = n - 1
            case .current: upper = i
            case .offset(let d):
                upper = lastNotAbove(try threshold(base, d))
                if upper < lower { result.append(nil); continue }
            }
            result.append(lower <= upper ? (lower, upper) : nil)
        }
        return result
    }
}
