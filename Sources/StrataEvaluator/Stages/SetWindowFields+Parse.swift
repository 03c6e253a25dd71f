import StrataBSON
// Parsing `$setWindowFields`: the stage, window bounds and each output.

extension SetWindowFields {
    package static func parse(_ v: BSON, at l: Location) throws -> SetWindowFields {
        guard case .document(let d) = v else { throw StrataError.badInput("$setWindowFields must be an object", at: l) }
        var partitionBy: Expr?, sortBy: SortPattern?, outputRaw: Document?
        for (k, x) in d {
            let kl = l.appending(k)
            switch k {
            case "partitionBy":
                partitionBy = try Expr.parse(x, at: kl)
            case "sortBy":
                guard case .document(let sd) = x else { throw StrataError.badInput("sortBy must be an object", at: kl) }
                sortBy = try SortPattern.parse(sd, at: kl, what: "sortBy")
            case "output":
                guard case .document(let od) = x else { throw StrataError.badInput("output must be an object", at: kl) }
                outputRaw = od
            default:
                throw StrataError.badInput("BSON field '$setWindowFields.\(k)' is an unknown field.", at: kl)
            }
        }
        guard let outputRaw else { throw StrataError.badInput("BSON field '$setWindowFields.output' is missing but a required field", at: l) }
        let outputs = try outputRaw.map { try parseOutput($0.key, $0.value, sortBy: sortBy, at: l.appending("output").appending($0.key)) }
        let paths = outputs.map { Query.components($0.path) }
        for i in paths.indices {
            for j in paths.indices where j != i && paths[j].count >= paths[i].count && Array(paths[j].prefix(paths[i].count)) == paths[i] {
                throw StrataError.badInput("$setWindowFields 'output' specification contains two conflicting paths", at: l.appending("output").appending(outputs[j].path))
            }
        }
        return SetWindowFields(partitionBy: partitionBy, sortBy: sortBy, outputs: outputs)
    }

    static func parseBound(_ v: BSON, range: Bool, at l: Location) throws -> Bound {
        switch v {
        case .string("unbounded"): return .unbounded
        case .string("current"): return .current
        case let n where n.isNumber:
            if !range {
                guard n.exactInt != nil else { throw StrataError.badInput("Numeric document-based bounds must be an integer", at: l) }
            }
            return .offset(n)
        default:
            throw StrataError.badInput("Window bounds must be 'unbounded', 'current', or a number", at: l)
        }
    }

    static func parseOutput(_ path: String, _ v: BSON, sortBy: SortPattern?, at l: Location) throws -> Output {
        _ = try Projection.splitPath(path, at: l)
        guard case .document(let d) = v else { throw StrataError.badInput("The field '\(path)' must be an object", at: l) }
        var fn: (String, BSON)?
        var window: Window?
        for (k, x) in d {
            if k == "window" {
                window = try parseWindow(x, sortBy: sortBy, at: l.appending(k))
                continue
            }
            if fn != nil { throw StrataError.badInput("Expected a single window function in '\(path)', found \(k)", at: l.appending(k)) }
            fn = (k, x)
        }
        guard let (name, arg) = fn else { throw StrataError.badInput("Expected a window function in '\(path)'", at: l) }
        let fl = l.appending(name)
        guard known.contains(name) else { throw StrataError.badInput("Unrecognized window function, \(name)", at: fl) }
        guard supported.contains(name) else {
            throw StrataError.unsupported("the \(name) window function is not supported by strata's evaluator", at: fl)
        }
        var out = Output(path: path, function: name, argument: nil, shiftBy: nil, shiftDefault: nil, window: window, accumulator: nil,
                         unitMillis: nil, rawArgument: arg)
        if accumulatorStyle.contains(name) {
            let spec = try AccumulatorSpec.parse(.document([name: arg]), at: l)
            if let w = window, w.lower != .unbounded, name == "$mergeObjects" || name == "$setUnion" {
                throw StrataError.unsupported("\(name) over a bounded window is not supported by strata's evaluator", at: fl)
            }
            if let w = window, w.lower != .unbounded || w.upper != .unbounded, sortBy == nil, !w.isRange {
                throw StrataError.badInput("Document-based bounds require a sortBy", at: fl)
            }
            out.accumulator = spec
            out.argument = spec.argument
            return out
        }
        switch name {
        case "$rank", "$denseRank", "$documentNumber":
            guard case .document(let a) = arg, a.isEmpty else { throw StrataError.badInput("\(name) takes no arguments, i.e. \(name): {}", at: fl) }
            if window != nil { throw StrataError.badInput("\(name) does not accept a 'window' field", at: fl) }
            guard let s = sortBy, name == "$documentNumber" || s.components.count == 1 else {
                throw StrataError.badInput("\(name) must be specified with a top level sortBy expression with exactly one element", at: fl)
            }
            _ = s
        case "$count":
            guard case .document(let a) = arg, a.isEmpty else { throw StrataError.badInput("$count takes no arguments, i.e. $count: {}", at: fl) }
            out.argument = .literal(.int32(1))
        case "$shift":
            try parseShift(&out, arg, window: window, sortBy: sortBy, at: fl)
        case "$expMovingAvg":
            try parseExpMovingAvg(&out, arg, window: window, sortBy: sortBy, at: fl)
        case "$locf":
            if window != nil { throw StrataError.badInput("$locf does not accept a 'window' field", at: fl) }
            out.argument = try Expr.parse(arg, at: fl)
        case "$derivative", "$integral":
            try parseDerivativeOrIntegral(&out, name, arg, window: window, sortBy: sortBy, at: fl)
        case "$covariancePop", "$covarianceSamp":
            out.argument = try Expr.parse(arg, at: fl)
            if let w = window, !w.isRange, w != .whole, sortBy == nil {
                throw StrataError.badInput("Document-based bounds require a sortBy", at: fl)
            }
        case "$linearFill":
            if window != nil { throw StrataError.badInput("$linearFill does not accept a 'window' field", at: fl) }
            guard let s = sortBy, s.components.count == 1 else {
                throw StrataError.badInput("$linearFill must be specified with a top level sortBy expression with exactly one element", at: fl)
            }
            out.argument = try Expr.parse(arg, at: fl)
        default:
            if case .array = arg, name != "$push" && name != "$addToSet" {
                throw StrataError.badInput("Window function \(name) is a unary operator", at: fl)
            }
            out.argument = try Expr.parse(arg, at: fl)
            if window?.isRange == false || window == nil {
                if case .offset(let n)? = window?.lower, n.exactInt == nil { throw StrataError.badInput("Numeric document-based bounds must be an integer", at: fl) }
            }
            if (window != nil && window != .whole) && sortBy == nil {
                throw StrataError.badInput("Document-based bounds require a sortBy", at: fl)
            }
        }
        return out
    }

    /// The `window` field of an output: `documents` or `range` bounds, and a `unit`.
    static func parseWindow(_ x: BSON, sortBy: SortPattern?, at l: Location) throws -> Window {
        guard case .document(let wd) = x else { throw StrataError.badInput("'window' field must be an object", at: l) }
        var w = Window(isRange: false, lower: .unbounded, upper: .unbounded, unit: nil)
        var bounds: [BSON]?
        for (wk, wx) in wd {
            let wl = l.appending(wk)
            switch wk {
            case "documents", "range":
                if bounds != nil { throw StrataError.badInput("Window bounds can only specify one of 'documents' or 'range'", at: wl) }
                guard case .array(let b) = wx, b.count == 2 else {
                    throw StrataError.badInput("Window bounds must be a 2-element array: \(show(wx))", at: wl)
                }
                bounds = b
                w.isRange = wk == "range"
            case "unit":
                guard case .string(let u) = wx, units.contains(u) else { throw StrataError.badInput("unknown time unit value: \(show(wx))", at: wl) }
                w.unit = u
            default:
                throw StrataError.badInput("'window' field can only contain 'documents' as the only argument or 'range' with an optional 'unit' field", at: wl)
            }
        }
        guard let bounds else { throw StrataError.badInput("'window' field that specifies 'unit' must also specify 'range'", at: l) }
        if w.unit != nil && !w.isRange { throw StrataError.badInput("'window' field that specifies 'unit' must also specify 'range'", at: l) }
        w.lower = try parseBound(bounds[0], range: w.isRange, at: l)
        w.upper = try parseBound(bounds[1], range: w.isRange, at: l)
        if w.upper == .unbounded, w.lower != .unbounded {} // fine
        if case .offset(let a) = w.lower, case .offset(let b) = w.upper, BSONOrder.compare(a, b) > 0 {
            throw StrataError.badInput("Lower bound must not exceed upper bound: \(show(a)) > \(show(b))", at: l)
        }
        if w.lower == .unbounded && w.upper == .unbounded {} // whole partition
        if case .unbounded = w.upper, case .current = w.lower {} // ok
        if w.isRange {
            guard let s = sortBy, s.components.count == 1 else {
                throw StrataError.badInput("Range-based bounds require sortBy a single field", at: l)
            }
            guard s.components[0].ascending else {
                throw StrataError.badInput("Range-based bounds require an ascending sortBy", at: l)
            }
        }
        // 'current' is offset 0
        switch (w.lower, w.upper) {
        case (.offset(let a), .current) where BSONOrder.compare(a, .int32(0)) > 0,
             (.current, .offset(let a)) where BSONOrder.compare(a, .int32(0)) < 0:
            throw StrataError.badInput("Lower bound must not exceed upper bound", at: l)
        default: break
        }
        return w
    }

    /// `$shift: {output, by, default}`.
    static func parseShift(_ out: inout Output, _ arg: BSON, window: Window?, sortBy: SortPattern?, at fl: Location) throws {
        guard case .document(let a) = arg else { throw StrataError.badInput("Argument to $shift must be an object", at: fl) }
        if window != nil { throw StrataError.badInput("$shift does not accept a 'window' field", at: fl) }
        guard sortBy != nil else { throw StrataError.badInput("$shift requires a sortBy", at: fl) }
        for (k, x) in a {
            switch k {
            case "output": out.argument = try Expr.parse(x, at: fl.appending(k))
            case "by":
                guard x.isNumber, let n = x.exactInt, Int32(exactly: n) != nil else {
                    throw StrataError.badInput("'$shift:by' field must be an integer, but found \(show(x))", at: fl.appending(k))
                }
                out.shiftBy = Int(n)
            case "default":
                let e = try Expr.parse(x, at: fl.appending(k))
                guard case .literal(let c) = e else { throw StrataError.badInput("'$shift:default' expression must yield a constant value.", at: fl.appending(k)) }
                out.shiftDefault = c
            default: throw StrataError.badInput("Unknown argument in $shift: \(k)", at: fl.appending(k))
            }
        }
        if out.argument == nil || out.shiftBy == nil { throw StrataError.badInput("$shift requires 'output' and 'by'", at: fl) }
    }

    /// `$derivative` and `$integral`: `{input, unit}` over a single sortBy field.
    static func parseDerivativeOrIntegral(_ out: inout Output, _ name: String, _ arg: BSON, window: Window?, sortBy: SortPattern?,
                                          at fl: Location) throws {
        guard case .document(let a) = arg else { throw StrataError.badInput("\(name) expects an object, but got a \(arg.typeName): \(show(arg))", at: fl) }
        var input: Expr?
        for (k, x) in a {
            switch k {
            case "input": input = try Expr.parse(x, at: fl.appending(k))
            case "unit":
                guard case .string(let u) = x else { throw StrataError.badInput("\(name) 'unit' must be a string, but got \(x.typeName)", at: fl.appending(k)) }
                guard units.contains(u) else { throw StrataError.badInput("unknown time unit value: \(u)", at: fl.appending(k)) }
                guard let ms = unitMillis[u] else {
                    throw StrataError.badInput("unit '\(u)' is not supported: use week, day, hour, minute, second or millisecond", at: fl.appending(k))
                }
                out.unitMillis = ms
            default: throw StrataError.badInput("\(name) got unexpected argument: \(k)", at: fl.appending(k))
            }
        }
        guard let input else { throw StrataError.badInput("\(name) requires an 'input' expression", at: fl) }
        guard let s = sortBy, s.components.count == 1 else {
            throw StrataError.badInput("\(name) requires a sortBy with exactly one field", at: fl)
        }
        if name == "$derivative" {
            if window == nil { throw StrataError.badInput("$derivative requires explicit window bounds", at: fl) }
            out.argument = input
        } else {
            // mongod feeds $integral the pair [sortBy value, input]
            out.argument = .array([.fieldPath(s.components[0].path), input])
        }
    }
}
