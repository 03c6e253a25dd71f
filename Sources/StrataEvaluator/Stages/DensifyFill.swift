import StrataBSON
import StrataLibBSON

/// `$densify`: `{field, partitionByFields?, range: {step, unit?, bounds}}`.
///
/// Executed as mongod does: a `$sort` on (partition fields unless `bounds: "full"`, field),
/// then mongod's streaming densification state machine, reproduced transition by
/// transition (the grid is built by repeated `$add` of the step — or `$dateAdd` of
/// `step` `unit`s in UTC — from the first value of the range; documents whose field is
/// null or missing pass through; generated documents hold the partition fields and the
/// field). One difference: when partitions are finished after the input ends, mongod walks
/// them in hash order (unspecified); strata walks them in order of first appearance.
public struct Densify: Sendable, Equatable {
    package enum Bounds: Sendable, Equatable {
        case full, partition
        /// `[lower, upper]`: two numbers of the step's type, or two dates (with `unit`).
        case explicit(BSON, BSON)
    }

    package var field: String
    package var partitionByFields: [String]
    package var step: BSON
    /// A time unit for dates ("day", "hour"...).
    package var unit: String?
    package var bounds: Bounds

    package static func parse(_ v: BSON, at l: Location) throws -> Densify {
        guard case .document(let d) = v else {
            throw StrataError.badInput("The $densify stage specification must be an object, found \(v.typeName)", at: l)
        }
        var field: String?, parts: [String] = [], range: Document?
        for (k, x) in d {
            let kl = l.appending(k)
            switch k {
            case "field":
                guard case .string(let s) = x else { throw StrataError.badInput("BSON field '$densify.field' is the wrong type '\(x.typeName)', expected type 'string'", at: kl) }
                try validatePath(s, at: kl)
                field = s
            case "partitionByFields":
                guard case .array(let items) = x else { throw StrataError.badInput("BSON field '$densify.partitionByFields' is the wrong type '\(x.typeName)', expected type 'array'", at: kl) }
                parts = try items.enumerated().map { i, e in
                    guard case .string(let s) = e else { throw StrataError.badInput("BSON field '$densify.partitionByFields.\(i)' is the wrong type '\(e.typeName)', expected type 'string'", at: kl.appending(index: i)) }
                    try validatePath(s, at: kl.appending(index: i))
                    return s
                }
            case "range":
                guard case .document(let r) = x else { throw StrataError.badInput("BSON field '$densify.range' is the wrong type '\(x.typeName)', expected type 'object'", at: kl) }
                range = r
            default:
                throw StrataError.badInput("BSON field '$densify.\(k)' is an unknown field.", at: kl)
            }
        }
        guard let field else { throw StrataError.badInput("BSON field '$densify.field' is missing but a required field", at: l) }
        guard let range else { throw StrataError.badInput("BSON field '$densify.range' is missing but a required field", at: l) }
        let rl = l.appending("range")
        var step: BSON?, unit: String?, boundsRaw: BSON?
        for (k, x) in range {
            switch k {
            case "step": step = x
            case "unit":
                guard case .string(let u) = x else { throw StrataError.badInput("BSON field '$densify.range.unit' is the wrong type '\(x.typeName)', expected type 'string'", at: rl.appending(k)) }
                guard TimeUnit(rawValue: u) != nil else { throw StrataError.badInput("unknown time unit value: \(u)", at: rl.appending(k)) }
                unit = u
            case "bounds": boundsRaw = x
            default: throw StrataError.badInput("BSON field '$densify.range.\(k)' is an unknown field.", at: rl.appending(k))
            }
        }
        guard let step else { throw StrataError.badInput("BSON field '$densify.range.step' is missing but a required field", at: rl) }
        guard let boundsRaw else { throw StrataError.badInput("BSON field '$densify.range.bounds' is missing but a required field", at: rl) }
        guard step.isNumber, BSONOrder.compare(step, .int32(0)) > 0 else {
            throw StrataError.badInput("The step parameter in a range statement must be a strictly positive numeric value", at: rl.appending("step"))
        }
        if unit != nil && !Numeric.isIntegral64(step) {
            throw StrataError.badInput("The step parameter in a range statement must be a whole number when densifying a date range", at: rl.appending("step"))
        }
        let bl = rl.appending("bounds")
        let bounds: Bounds
        switch boundsRaw {
        case .string("full"): bounds = .full
        case .string("partition"): bounds = .partition
        case .string: throw StrataError.badInput("Bounds string must either be 'full' or 'partition'", at: bl)
        case .array(let a):
            guard a.count == 2 else { throw StrataError.badInput("A bounding array in a range statement must have exactly two elements", at: bl) }
            guard BSONOrder.compare(a[0], a[1]) <= 0 else {
                throw StrataError.badInput("A bounding array must be an ascending array of either two dates or two numbers", at: bl)
            }
            if a[0].isNumber {
                if unit != nil { throw StrataError.badInput("Numeric bounds may not have unit parameter", at: bl) }
                guard a[1].isNumber else { throw StrataError.badInput("A bounding array must contain either both dates or both numeric types", at: bl) }
                guard a[0].typeName == a[1].typeName && a[0].typeName == step.typeName else {
                    throw StrataError.badInput("Upper bound, lower bound, and step must all have the same type", at: bl)
                }
            } else if case .date = a[0] {
                guard case .date = a[1] else { throw StrataError.badInput("A bounding array must contain either both dates or both numeric types", at: bl) }
                if unit == nil { throw StrataError.badInput("A bounding array of dates must specify a unit", at: bl) }
            } else {
                throw StrataError.badInput("Explicit bounds must be numeric or dates", at: bl)
            }
            bounds = .explicit(a[0], a[1])
        default:
            throw StrataError.badInput("The bounds in a range statement must be the string 'full', 'partition', or an ascending array of two numbers or two dates", at: bl)
        }
        if bounds == .partition && parts.isEmpty {
            throw StrataError.badInput("One cannot specify the bounds as 'partition' without specifying a non-empty array of partitionByFields. You may have meant to specify 'full' bounds.", at: l)
        }
        return Densify(field: field, partitionByFields: parts, step: step, unit: unit, bounds: bounds)
    }

    static func validatePath(_ s: String, at l: Location) throws {
        if s.isEmpty { throw StrataError.badInput("FieldPath cannot be constructed with empty string", at: l) }
        for c in s.split(separator: ".", omittingEmptySubsequences: false) {
            if c.isEmpty { throw StrataError.badInput("FieldPath field names may not be empty strings.", at: l) }
            if c.hasPrefix("$") { throw StrataError.badInput("FieldPath field names may not start with '$'.", at: l) }
        }
    }

    package var bson: Document {
        var range: Document = ["step": step]
        if let unit { range["unit"] = .string(unit) }
        switch bounds {
        case .full: range["bounds"] = "full"
        case .partition: range["bounds"] = "partition"
        case .explicit(let a, let b): range["bounds"] = [a, b]
        }
        var d: Document = ["field": .string(field)]
        if !partitionByFields.isEmpty { d["partitionByFields"] = .array(partitionByFields.map { .string($0) }) }
        d["range"] = .document(range)
        return d
    }

    /// The `$sort` mongod runs before densifying.
    package var sortPattern: SortPattern {
        var comps: [SortPattern.Component] = []
        if bounds != .full { comps = partitionByFields.map { .init(path: Query.components($0), ascending: true) } }
        comps.append(.init(path: Query.components(field), ascending: true))
        return SortPattern(components: comps)
    }
}

/// `$fill`: `{sortBy?, partitionBy? | partitionByFields?, output: {field: {value: expr} |
/// {method: "locf" | "linear"}}}`, run as mongod desugars it: a `$setWindowFields` with
/// `$locf` / `$linearFill` for the method outputs, then an `$addFields` with
/// `{$ifNull: ["$field", value]}` for the value outputs.
public struct Fill: Sendable, Equatable {
    package enum Output: Sendable, Equatable {
        case value(BSON)
        case locf
        case linear
        /// Neither `value` nor `method` (mongod accepts it and does nothing).
        case none
    }

    package var sortBy: BSON?
    package var partitionBy: BSON?
    package var partitionByFields: [String]?
    package var outputs: [(String, Output)]
    /// The stages `$fill` stands for.
    package let windowFields: SetWindowFields?
    package let addFields: Projection?

    public static func == (a: Fill, b: Fill) -> Bool {
        a.sortBy == b.sortBy && a.partitionBy == b.partitionBy && a.partitionByFields == b.partitionByFields
            && a.outputs.count == b.outputs.count && zip(a.outputs, b.outputs).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
    }

    package static func parse(_ v: BSON, at l: Location) throws -> Fill {
        guard case .document(let d) = v else {
            throw StrataError.badInput("The $fill stage specification must be an object, found \(v.typeName)", at: l)
        }
        var sortBy: BSON?, partitionBy: BSON?, partitionByFields: [String]?, outputRaw: Document?
        for (k, x) in d {
            let kl = l.appending(k)
            switch k {
            case "sortBy":
                guard case .document = x else { throw StrataError.badInput("BSON field '$fill.sortBy' is the wrong type '\(x.typeName)', expected type 'object'", at: kl) }
                sortBy = x
            case "partitionBy":
                switch x {
                case .string, .document: partitionBy = x
                default: throw StrataError.badInput("BSON field '$fill.partitionBy' is the wrong type '\(x.typeName)', expected types '[string, object]'", at: kl)
                }
            case "partitionByFields":
                guard case .array(let items) = x else { throw StrataError.badInput("BSON field '$fill.partitionByFields' is the wrong type '\(x.typeName)', expected type 'array'", at: kl) }
                partitionByFields = try items.enumerated().map { i, e in
                    guard case .string(let s) = e else { throw StrataError.badInput("BSON field '$fill.partitionByFields.\(i)' is the wrong type '\(e.typeName)', expected type 'string'", at: kl.appending(index: i)) }
                    try Densify.validatePath(s, at: kl.appending(index: i))
                    return s
                }
            case "output":
                guard case .document(let o) = x else { throw StrataError.badInput("BSON field '$fill.output' is the wrong type '\(x.typeName)', expected type 'object'", at: kl) }
                outputRaw = o
            default:
                throw StrataError.badInput("BSON field '$fill.\(k)' is an unknown field.", at: kl)
            }
        }
        guard let outputRaw else { throw StrataError.badInput("BSON field '$fill.output' is missing but a required field", at: l) }
        if outputRaw.isEmpty { throw StrataError.badInput("The output field in '$fill' must contain an object with at least one element", at: l.appending("output")) }
        var outputs: [(String, Output)] = []
        for (f, spec) in outputRaw {
            let fl = l.appending("output").appending(f)
            guard case .document(let s) = spec else { throw StrataError.badInput("Each fill output specification must be an object with exactly one field", at: fl) }
            var method: String?, value: BSON?
            for (k, x) in s {
                switch k {
                case "method":
                    guard case .string(let m) = x else { throw StrataError.badInput("BSON field '$fill.output.method' is the wrong type '\(x.typeName)', expected type 'string'", at: fl.appending(k)) }
                    method = m
                case "value": value = x
                default: throw StrataError.badInput("BSON field '$fill.output.\(k)' is an unknown field.", at: fl.appending(k))
                }
            }
            if let method {
                if value != nil { throw StrataError.badInput("Each fill output specification must have exactly one of 'method' or 'value' fields, not both", at: fl) }
                switch method {
                case "locf": outputs.append((f, .locf))
                case "linear": outputs.append((f, .linear))
                default: throw StrataError.badInput("Method must be either locf or linear", at: fl.appending("method"))
                }
            } else if let value {
                outputs.append((f, .value(value)))
            } else {
                outputs.append((f, .none))
            }
        }
        if partitionBy != nil && partitionByFields != nil {
            throw StrataError.badInput("Maximum one of 'partitionBy' and 'partitionByFields can be specified in '$fill'", at: l)
        }
        // the desugared stages
        var windowOutput = Document()
        var addFields = Document()
        for (f, o) in outputs {
            switch o {
            case .locf: windowOutput[f] = ["$locf": .string("$" + f)]
            case .linear: windowOutput[f] = ["$linearFill": .string("$" + f)]
            case .value(let x): addFields[f] = ["$ifNull": [.string("$" + f), x]]
            case .none: break
            }
        }
        var windowFields: SetWindowFields?
        if !windowOutput.isEmpty {
            var spec = Document()
            if let sortBy { spec["sortBy"] = sortBy }
            if let partitionBy { spec["partitionBy"] = partitionBy }
            if let partitionByFields {
                var p = Document()
                for f in partitionByFields { p.setValue(.string("$" + f), atPath: f) }
                spec["partitionBy"] = .document(p)
            }
            spec["output"] = .document(windowOutput)
            windowFields = try SetWindowFields.parse(.document(spec), at: l)
        }
        let projection = addFields.isEmpty ? nil : try Projection.parseAddFields(addFields, at: l)
        return Fill(sortBy: sortBy, partitionBy: partitionBy, partitionByFields: partitionByFields, outputs: outputs,
                    windowFields: windowFields, addFields: projection)
    }

    package var bson: Document {
        var d = Document()
        if let sortBy { d["sortBy"] = sortBy }
        if let partitionBy { d["partitionBy"] = partitionBy }
        if let partitionByFields { d["partitionByFields"] = .array(partitionByFields.map { .string($0) }) }
        var out = Document()
        for (f, o) in outputs {
            switch o {
            case .value(let x): out[f] = ["value": x]
            case .locf: out[f] = ["method": "locf"]
            case .linear: out[f] = ["method": "linear"]
            case .none: out[f] = .document([:])
            }
        }
        d["output"] = .document(out)
        return d
    }
}

/// A value being densified: a number or a date.
enum DensifyValue {
    case number(BSON)
    case date(Int64)

    var bson: BSON {
        switch self { case .number(let v): return v; case .date(let ms): return .date(ms) }
    }

    static func compare(_ a: DensifyValue, _ b: DensifyValue) -> Int { BSONOrder.compare(a.bson, b.bson) }
}

/// mongod's `$_internalDensify` (document_source_densify.cpp), input sorted beforehand.
final class DensifyOp: Op {
    enum State { case uninitializedOrBelowRange, needGen, finishing, done }

    struct Generator {
        var min: DensifyValue
        let upper: DensifyValue
        let include: Document
        let finalDoc: (Document, DensifyValue)?
        var phase = 0  // 0 generating, 1 returning the final document, 2 done
        var done: Bool { phase == 2 }
    }

    let spec: Densify, next: Op, loc: Location, ctx: ExecutionContext
    let path: [String]
    let partitionExpr: Expr?
    var state = State.uninitializedOrBelowRange
    var current: DensifyValue?
    var globalMin: DensifyValue?, globalMax: DensifyValue?
    var partitioned = false
    var tableOrder: [GroupKey] = []
    var table: [GroupKey: (doc: Document, value: DensifyValue)] = [:]
    var eof = false
    var generated = 0
    var stopped = false
    static let maxGenerated = 500_000

    init(_ s: Densify, _ ctx: ExecutionContext, _ loc: Location, _ next: Op) {
        spec = s; self.ctx = ctx; self.loc = loc; self.next = next
        path = Query.components(s.field)
        if s.partitionByFields.isEmpty {
            partitionExpr = nil
        } else {
            // {a: "$a", x: {y: "$x.y"}}
            var shape = Document()
            for f in s.partitionByFields { shape.setValue(.string("$" + f), atPath: f) }
            partitionExpr = try? Expr.parse(.document(shape))
        }
    }

    // MARK: values

    func fieldValue(_ doc: Document) -> BSON? { doc.value(atPath: path) }

    func densifyValue(_ v: BSON?) throws -> DensifyValue {
        let dv: DensifyValue
        switch v {
        case .date(let ms)?: dv = .date(ms)
        case let x? where x.isNumber:
            dv = .number(x)
        default: throw evalError("Densify field type must be numeric or a date")
        }
        switch dv {
        case .number where spec.unit != nil: throw evalError("Encountered numeric densify value in collection when step has a date unit.")
        case .date where spec.unit == nil: throw evalError("Encountered date densify value in collection when step does not have a date unit.")
        default: return dv
        }
    }

    func increment(_ v: DensifyValue, by sign: Int64 = 1) throws -> DensifyValue {
        switch v {
        case .number(let x):
            let r = sign > 0 ? try EvalContext.add([x, spec.step]) : try EvalContext.subtract(x, spec.step)
            return .number(r ?? .null)
        case .date(let ms):
            return .date(try DateMath.add(ms, unit: TimeUnit(rawValue: spec.unit!)!, amount: sign * Numeric.coerceToLong(spec.step)!, zone: .utc))
        }
    }

    func isOnStep(_ v: DensifyValue, relativeTo base: DensifyValue) throws -> Bool {
        switch (v, base) {
        case (.number(let x), .number(let b)):
            let diff = try EvalContext.subtract(x, b)
            let rem = try EvalContext.mod(diff, spec.step)
            return rem?.doubleValue == 0
        case (.date(let ms), .date(let b)):
            let unit = TimeUnit(rawValue: spec.unit!)!
            let step = Numeric.coerceToLong(spec.step)!
            if unit == .month || unit == .quarter || unit == .year {
                var stepped = b
                while stepped < ms { stepped = try DateMath.add(stepped, unit: unit, amount: step, zone: .utc) }
                return stepped == ms
            }
            let stepMillis = try DateMath.add(0, unit: unit, amount: step, zone: .utc)
            return (ms - b) % stepMillis == 0
        default:
            return false
        }
    }

    func partitionDoc(_ doc: Document) throws -> Document {
        guard let e = partitionExpr else { return Document() }
        if case .document(let d)? = try EvalContext(root: doc, variables: ctx.variables).eval(e) { return d }
        return Document()
    }

    func setPartitionValue(_ doc: Document, _ value: DensifyValue) throws {
        guard partitioned else { return }
        let pd = try partitionDoc(doc)
        let key = GroupKey(.document(pd))
        if table[key] == nil { tableOrder.append(key) }
        table[key] = (pd, value)
    }

    func lookup(_ doc: Document) throws -> DensifyValue? {
        table[GroupKey(.document(try partitionDoc(doc)))]?.value
    }

    // MARK: emission

    func emit(_ doc: Document) throws {
        if stopped { return }
        if try !next.push(doc) { stopped = true }
    }

    func makeGenerator(_ min: DensifyValue, _ upper: DensifyValue, include: Document?, final: (Document, DensifyValue)?) throws -> Generator {
        let inc = include ?? Document()
        // the generated field must not go through arrays or overwrite scalars
        var cur: BSON? = .document(inc)
        for (i, p) in path.enumerated() {
            guard case .document(let d)? = cur else { break }
            let v = d[p]
            if case .array? = v { throw evalError("$densify cannot generate fields nested inside arrays") }
            if case .document? = v { cur = v; continue }
            if v != nil && i != path.count - 1 { throw evalError("$densify cannot overwrite non-object values with objects") }
            break
        }
        if DensifyValue.compare(min, upper) > 0 { throw evalError("DocGenerator min must be lower or equal to max") }
        return Generator(min: min, upper: upper, include: inc, finalDoc: final)
    }

    func nextGenerated(_ g: inout Generator) throws -> (Document, DensifyValue) {
        if g.phase == 1 { g.phase = 2; return g.finalDoc! }
        let value = g.min
        let nextValue = try increment(g.min)
        if DensifyValue.compare(g.upper, nextValue) <= 0 { g.phase = g.finalDoc != nil ? 1 : 2 }
        g.min = nextValue
        var d = g.include
        d.setValue(value.bson, atPath: path[...])
        generated += 1
        if generated > DensifyOp.maxGenerated {
            throw evalError("Generated \(generated) documents in $densify, which is over the limit of \(DensifyOp.maxGenerated). Increase the 'internalQueryMaxAllowedDensifyDocs' parameter to allow more generated documents")
        }
        return (d, value)
    }

    /// The rest of a generator, with mongod's per-document bookkeeping (kHaveGenerator).
    func drain(_ gen: Generator?) throws {
        guard var g = gen else { return }
        while !g.done && !stopped {
            let (d, v) = try nextGenerated(&g)
            switch spec.bounds {
            case .full, .partition:
                if g.done { state = (spec.bounds == .full && eof && partitioned) ? .finishing : .needGen }
                if let c = current, DensifyValue.compare(v, try increment(c)) == 0 {
                    current = v
                    try setPartitionValue(d, v)
                }
            case .explicit(_, let hi):
                if let c = current, try isOnStep(v, relativeTo: c) {
                    current = v
                    try setPartitionValue(d, v)
                }
                if g.done { resetAfterGenerator(hi) }
            }
            try emit(d)
        }
    }

    func resetAfterGenerator(_ hi: BSON) {
        if let c = current, BSONOrder.compare(c.bson, hi) >= 0 && !partitioned {
            state = .done
        } else if partitioned && eof {
            state = .finishing
        } else {
            state = .needGen
        }
    }

    // MARK: input

    override func push(_ doc: Document) throws -> Bool {
        try located(loc) { try process(doc) }
        return !stopped
    }

    func process(_ doc: Document) throws {
        if state == .done { return try emit(doc) }
        let raw = fieldValue(doc)
        if BSON.isNullish(raw) { return try emit(doc) }
        let val = try densifyValue(raw)
        switch state {
        case .uninitializedOrBelowRange:
            if partitionExpr != nil && !partitioned {
                partitioned = true
                try setPartitionValue(doc, val)
            }
            switch spec.bounds {
            case .full:
                current = val; globalMin = val; globalMax = val
                state = .needGen
                try emit(doc)
            case .partition:
                state = .needGen
                try emit(doc)
            case .explicit(let lo, let hi):
                try firstForExplicitRange(doc, val, lo, hi)
            }
        case .needGen:
            switch spec.bounds {
            case .full:
                if partitioned {
                    globalMax = val
                    if let last = try lookup(doc) {
                        current = last
                    } else {
                        current = try increment(globalMin!, by: -1)
                        try setPartitionValue(doc, val)
                    }
                }
                try handleNeedGen(doc, val)
            case .partition:
                if let last = try lookup(doc) {
                    current = last
                    try handleNeedGen(doc, val)
                } else {
                    try setPartitionValue(doc, val)
                    try emit(doc)
                }
            case .explicit(let lo, let hi):
                if partitioned {
                    if let last = try lookup(doc) {
                        current = last
                    } else {
                        try setPartitionValue(doc, val)
                        current = nil
                        return try firstForExplicitRange(doc, val, lo, hi)
                    }
                }
                try needGenExplicit(doc, val, lo, hi)
            }
        case .finishing, .done:
            try emit(doc)
        }
    }

    func handleNeedGen(_ doc: Document, _ val: DensifyValue) throws {
        let nextValue = try increment(current!)
        let c = DensifyValue.compare(val, nextValue)
        if c == 0 {
            try setPartitionValue(doc, val)
            current = val
        }
        if c <= 0 { return try emit(doc) }
        var gen = try makeGenerator(nextValue, val, include: partitioned ? try partitionDoc(doc) : nil, final: (doc, val))
        let (first, fv) = try nextGenerated(&gen)
        state = gen.done ? .needGen : state
        current = fv
        try setPartitionValue(first, fv)
        try emit(first)
        try drain(gen.done ? nil : gen)
    }

    enum Position { case below, rangeMin, inside, above }

    func position(_ v: DensifyValue, _ lo: BSON, _ hi: BSON) -> Position {
        let c = BSONOrder.compare(v.bson, lo)
        if c < 0 { return .below }
        if c == 0 { return .rangeMin }
        return BSONOrder.compare(v.bson, hi) < 0 ? .inside : .above
    }

    func boundValue(_ b: BSON) -> DensifyValue {
        if case .date(let ms) = b { return .date(ms) }
        return .number(b)
    }

    func firstForExplicitRange(_ doc: Document, _ val: DensifyValue, _ lo: BSON, _ hi: BSON) throws {
        if current == nil { current = try increment(boundValue(lo), by: -1) }
        switch position(val, lo, hi) {
        case .inside, .above:
            try aboveExplicitMin(doc, val, hi)
        case .rangeMin:
            state = .needGen
            current = val
            try emit(doc)
        case .below:
            state = .uninitializedOrBelowRange
            try emit(doc)
        }
    }

    func aboveExplicitMin(_ doc: Document, _ val: DensifyValue, _ hi: BSON) throws {
        let lower = try increment(current!)
        if DensifyValue.compare(val, lower) == 0 {
            try setPartitionValue(doc, val)
            current = lower
            return try emit(doc)
        }
        let upper = BSONOrder.compare(val.bson, hi) < 0 ? val : boundValue(hi)
        var gen = try makeGenerator(lower, upper, include: partitioned ? try partitionDoc(doc) : nil, final: (doc, val))
        let (first, fv) = try nextGenerated(&gen)
        current = fv
        if gen.done { resetAfterGenerator(hi) } else { state = .needGen }
        try setPartitionValue(first, fv)
        try emit(first)
        try drain(gen.done ? nil : gen)
    }

    func needGenExplicit(_ doc: Document, _ val: DensifyValue, _ lo: BSON, _ hi: BSON) throws {
        switch position(val, lo, hi) {
        case .inside:
            let nextStep = try increment(current!)
            let c = DensifyValue.compare(val, nextStep)
            if c == 0 {
                current = val
                try setPartitionValue(doc, val)
                return try emit(doc)
            }
            if c < 0 { return try emit(doc) }
            try aboveExplicitMin(doc, val, hi)
        case .above:
            let nextStep = try increment(current!)
            if BSONOrder.compare(nextStep.bson, hi) >= 0 {
                current = nextStep
                try setPartitionValue(doc, val)
                if !partitioned { state = .done }
                return try emit(doc)
            }
            try aboveExplicitMin(doc, val, hi)
        case .rangeMin:
            try setPartitionValue(doc, val)
            current = val
            try emit(doc)
        case .below:
            try setPartitionValue(doc, val)
            state = .uninitializedOrBelowRange
            try emit(doc)
        }
    }

    // MARK: end of input

    override func finish() throws {
        try located(loc) {
            eof = true
            if !stopped && state != .done {
                switch spec.bounds {
                case .full:
                    if partitioned { try finishPartitions() } else { state = .done }
                case .partition:
                    state = .done
                case .explicit(let lo, let hi):
                    if partitioned { try finishPartitions() } else { try explicitRangeAfterEnd(lo, hi) }
                }
            }
        }
        try next.finish()
    }

    func explicitRangeAfterEnd(_ lo: BSON, _ hi: BSON) throws {
        var gen: Generator
        if let c = current {
            let lower = try increment(c)
            if BSONOrder.compare(lower.bson, hi) >= 0 { state = .done; return }
            gen = try makeGenerator(lower, boundValue(hi), include: nil, final: nil)
        } else {
            current = boundValue(lo)
            gen = try makeGenerator(boundValue(lo), boundValue(hi), include: nil, final: nil)
        }
        let (first, _) = try nextGenerated(&gen)
        if gen.done { state = .done }
        try emit(first)
        try drain(gen.done ? nil : gen)
    }

    func finishPartitions() throws {
        let maxValue: DensifyValue
        var minOverride: DensifyValue?
        switch spec.bounds {
        case .full:
            guard let c = current, let gmax = globalMax else { state = .done; return }
            maxValue = try isOnStep(gmax, relativeTo: c) ? try increment(gmax) : gmax
        case .explicit(let lo, let hi):
            maxValue = boundValue(hi)
            minOverride = boundValue(lo)
        case .partition:
            state = .done
            return
        }
        while !tableOrder.isEmpty && !stopped {
            let key = tableOrder.removeFirst()
            guard let entry = table.removeValue(forKey: key) else { continue }
            var start = try increment(entry.value)
            if DensifyValue.compare(start, maxValue) >= 0 { continue }
            if let mo = minOverride, DensifyValue.compare(start, mo) < 0 { start = mo }
            var gen = try makeGenerator(start, maxValue, include: entry.doc, final: nil)
            let (first, _) = try nextGenerated(&gen)
            state = .finishing
            try emit(first)
            try drain(gen.done ? nil : gen)
        }
        state = .done
    }
}
