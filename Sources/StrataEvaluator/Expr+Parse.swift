import StrataBSON
import StrataLibBSON

/// How an operator's arguments are written.
enum OperatorShape: Sendable {
    /// A list of expressions: `{$op: [a, b]}`, or a bare single argument `{$op: a}`.
    case positional(min: Int, max: Int)
    /// An object of named arguments.
    case named(NamedSpec)
    /// `$cond`: a 3-element array or `{if, then, else}`.
    case cond
    /// `$year`...: an expression, or `{date, timezone}`.
    case datePart
    /// `$getField`: a field name, or `{field, input}`.
    case getField
    /// `$percentile` / `$median`: `{input, p, method}`, kept as named arguments with `p`
    /// normalised to a literal array of doubles and `method` a literal string.
    case percentile
    /// Parsed for validation, refused with `.unsupported`.
    case unsupported(String)
}

/// What a named argument holds.
enum ArgKind: Sendable {
    case expr
    /// Kept as `.literal` (variable names, sort specs, flags).
    case literal
    /// An array literal of expressions (`$zip`'s inputs / defaults).
    case exprArray
    /// `$let`'s `vars`: an object of name → expression.
    case vars
    /// `$switch`'s `branches`.
    case branches
}

struct NamedSpec: Sendable {
    var required: [String]
    var optional: [String]
    var kinds: [String: ArgKind] = [:]
    func kind(_ k: String) -> ArgKind { kinds[k] ?? .expr }
    func allows(_ k: String) -> Bool { required.contains(k) || optional.contains(k) }
}

enum OperatorTable {
    static let unlimited = Int.max

    static func pos(_ n: Int) -> OperatorShape { .positional(min: n, max: n) }
    static func pos(_ a: Int, _ b: Int) -> OperatorShape { .positional(min: a, max: b) }
    static func named(_ req: [String], _ opt: [String] = [], _ kinds: [String: ArgKind] = [:]) -> OperatorShape {
        .named(NamedSpec(required: req, optional: opt, kinds: kinds))
    }

    static let shapes: [String: OperatorShape] = {
        var t: [String: OperatorShape] = [:]
        let u = unlimited
        // arithmetic
        for n in ["$abs", "$ceil", "$floor", "$sqrt", "$exp", "$ln", "$log10"] { t[n] = pos(1) }
        for n in ["$add", "$multiply"] { t[n] = pos(0, u) }
        for n in ["$subtract", "$divide", "$mod", "$pow", "$log"] { t[n] = pos(2) }
        for n in ["$round", "$trunc"] { t[n] = pos(1, 2) }
        for n in ["$sin", "$cos", "$tan", "$asin", "$acos", "$atan", "$sinh", "$cosh", "$tanh",
                  "$asinh", "$acosh", "$atanh", "$degreesToRadians", "$radiansToDegrees"] { t[n] = pos(1) }
        t["$atan2"] = pos(2)
        for n in ["$bitAnd", "$bitOr", "$bitXor"] { t[n] = pos(0, u) }
        t["$bitNot"] = pos(1)
        t["$rand"] = pos(0)
        // comparison, boolean, conditional
        for n in ["$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$cmp"] { t[n] = pos(2) }
        for n in ["$and", "$or"] { t[n] = pos(0, u) }
        t["$not"] = pos(1)
        t["$cond"] = .cond
        t["$ifNull"] = pos(2, u)
        t["$switch"] = named(["branches"], ["default"], ["branches": .branches])
        // strings
        t["$concat"] = pos(0, u)
        for n in ["$toLower", "$toUpper", "$strLenBytes", "$strLenCP"] { t[n] = pos(1) }
        for n in ["$substr", "$substrBytes", "$substrCP"] { t[n] = pos(3) }
        t["$split"] = pos(2)
        t["$strcasecmp"] = pos(2)
        for n in ["$trim", "$ltrim", "$rtrim"] { t[n] = named(["input"], ["chars"]) }
        for n in ["$indexOfBytes", "$indexOfCP"] { t[n] = pos(2, 4) }
        for n in ["$regexMatch", "$regexFind", "$regexFindAll"] { t[n] = named(["input", "regex"], ["options"]) }
        for n in ["$replaceOne", "$replaceAll"] { t[n] = named(["input", "find", "replacement"]) }
        // arrays
        for n in ["$size", "$isArray", "$reverseArray", "$first", "$last", "$arrayToObject", "$objectToArray"] { t[n] = pos(1) }
        t["$arrayElemAt"] = pos(2)
        t["$in"] = pos(2)
        t["$indexOfArray"] = pos(2, 4)
        t["$concatArrays"] = pos(0, u)
        t["$filter"] = named(["input", "cond"], ["as", "limit"], ["as": .literal])
        t["$map"] = named(["input", "in"], ["as"], ["as": .literal])
        t["$reduce"] = named(["input", "initialValue", "in"])
        t["$slice"] = pos(2, 3)
        t["$range"] = pos(2, 3)
        t["$zip"] = named(["inputs"], ["useLongestLength", "defaults"],
                          ["inputs": .exprArray, "defaults": .exprArray, "useLongestLength": .literal])
        t["$sortArray"] = named(["input", "sortBy"], [], ["sortBy": .literal])
        for n in ["$firstN", "$lastN", "$maxN", "$minN"] { t[n] = named(["input", "n"]) }
        // sets
        for n in ["$setUnion", "$setIntersection"] { t[n] = pos(0, u) }
        t["$setDifference"] = pos(2)
        t["$setIsSubset"] = pos(2)
        t["$setEquals"] = pos(2, u)
        for n in ["$anyElementTrue", "$allElementsTrue"] { t[n] = pos(1) }
        // objects
        t["$mergeObjects"] = pos(0, u)
        t["$getField"] = .getField
        t["$setField"] = named(["field", "input", "value"])
        t["$unsetField"] = named(["field", "input"])
        // types
        for n in ["$type", "$isNumber", "$toInt", "$toLong", "$toDouble", "$toBool", "$toDate", "$toObjectId",
                  "$toString", "$binarySize", "$bsonSize", "$tsSecond", "$tsIncrement"] { t[n] = pos(1) }
        t["$toDecimal"] = pos(1)
        t["$convert"] = named(["input", "to"], ["onError", "onNull", "format", "base", "byteOrder", "subtype"])
        // dates
        for n in ["$year", "$month", "$dayOfMonth", "$dayOfWeek", "$dayOfYear", "$hour", "$minute", "$second",
                  "$millisecond", "$week", "$isoWeek", "$isoWeekYear", "$isoDayOfWeek"] { t[n] = .datePart }
        t["$dateToString"] = named(["date"], ["format", "timezone", "onNull"])
        t["$dateFromString"] = named(["dateString"], ["format", "timezone", "onError", "onNull"])
        t["$dateFromParts"] = named([], ["year", "month", "day", "hour", "minute", "second", "millisecond",
                                         "isoWeekYear", "isoWeek", "isoDayOfWeek", "timezone"])
        t["$dateToParts"] = named(["date"], ["timezone", "iso8601"])
        t["$dateTrunc"] = named(["date", "unit"], ["binSize", "timezone", "startOfWeek"])
        for n in ["$dateAdd", "$dateSubtract"] { t[n] = named(["startDate", "unit", "amount"], ["timezone"]) }
        t["$dateDiff"] = named(["startDate", "endDate", "unit"], ["timezone", "startOfWeek"])
        // accumulators usable as expressions
        for n in ["$sum", "$avg", "$min", "$max", "$stdDevPop", "$stdDevSamp"] { t[n] = pos(0, u) }
        t["$let"] = named(["vars", "in"], [], ["vars": .vars])
        for n in ["$median", "$percentile"] { t[n] = .percentile }
        // parsed, refused
        for n in ["$function", "$accumulator"] { t[n] = .unsupported("JavaScript") }
        t["$meta"] = .unsupported("document metadata")
        t["$toHashedIndexKey"] = .unsupported("hashing")
        t["$toUUID"] = .unsupported("UUID conversion")
        t["$createObjectId"] = .unsupported("ObjectId generation")
        return t
    }()

    /// Variables of the server that need a context strata does not have.
    static let unsupportedVariables: Set<String> = ["CLUSTER_TIME", "SEARCH_META", "USER_ROLES", "IS_MR", "JS_SCOPE"]
    static let builtinVariables: Set<String> = ["ROOT", "CURRENT", "REMOVE", "NOW", "DESCEND", "PRUNE", "KEEP"]
}

extension Expr {
    /// Parses an aggregation expression (an operand, as mongod's `parseOperand`): `"$path"`
    /// and `"$$var"` strings, arrays, objects, operator objects, constants.
    package static func parse(_ value: BSON, at loc: Location = Location()) throws -> Expr {
        switch value {
        case .string(let s):
            if s.hasPrefix("$") { return try parseReference(s, at: loc) }
            return .literal(value)
        case .array(let items):
            return .array(try items.enumerated().map { try parse($0.element, at: loc.appending(index: $0.offset)) })
        case .document(let d):
            return try parseObject(d, at: loc)
        default:
            return .literal(value)
        }
    }

    /// Parses `"$a.b"` or `"$$var.a"`.
    static func parseReference(_ s: String, at loc: Location) throws -> Expr {
        if s == "$" { throw StrataError.badInput("'$' by itself is not a valid FieldPath", at: loc) }
        if s.utf8.contains(0) { throw StrataError.badInput("field path must not contain embedded null characters", at: loc) }
        if s.hasPrefix("$$") {
            let parts = s.dropFirst(2).split(separator: ".", omittingEmptySubsequences: false).map(String.init)
            let name = parts[0]
            try validateVariableName(name, forWrite: false, at: loc)
            let path = Array(parts.dropFirst())
            try validatePathComponents(path, raw: s, at: loc)
            return .variable(name, path)
        }
        let path = s.dropFirst().split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        try validatePathComponents(path, raw: s, at: loc)
        return .fieldPath(path)
    }

    static func validatePathComponents(_ path: [String], raw: String, at loc: Location) throws {
        for c in path {
            if c.isEmpty { throw StrataError.badInput("FieldPath field names may not be empty strings ('\(raw)')", at: loc) }
            if c.hasPrefix("$") && !["$id", "$ref", "$db"].contains(c) {
                throw StrataError.badInput("FieldPath field names may not start with '$' ('\(raw)')", at: loc)
            }
        }
    }

    /// mongod's rules: user variables start with a lowercase ASCII letter or a non-ASCII
    /// character and continue with letters, digits, '_' or non-ASCII; the upper-case
    /// names are the builtins (readable, never bindable).
    static func validateVariableName(_ name: String, forWrite: Bool, at loc: Location) throws {
        if !forWrite {
            if OperatorTable.unsupportedVariables.contains(name) {
                throw StrataError.unsupported("$$\(name) is not supported by strata's evaluator", at: loc)
            }
            if OperatorTable.builtinVariables.contains(name) { return }
        } else if name == "CURRENT" {
            throw StrataError.unsupported("rebinding $$CURRENT is not supported by strata's evaluator", at: loc)
        }
        guard let first = name.utf8.first else {
            throw StrataError.badInput("empty variable names are not allowed", at: loc)
        }
        if !(first >= UInt8(ascii: "a") && first <= UInt8(ascii: "z")) && first < 0x80 {
            throw StrataError.badInput("'\(name)' starts with an invalid character for a user variable name", at: loc)
        }
        for c in name.utf8.dropFirst() {
            let ok = (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z")) || (c >= UInt8(ascii: "A") && c <= UInt8(ascii: "Z"))
                || (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9")) || c == UInt8(ascii: "_") || c >= 0x80
            if !ok { throw StrataError.badInput("'\(name)' contains an invalid character for a variable name", at: loc) }
        }
    }

    static func validateFieldName(_ k: String, at loc: Location) throws {
        if k.isEmpty { throw StrataError.badInput("FieldPath field names may not be empty strings", at: loc) }
        if k.hasPrefix("$") {
            throw StrataError.badInput("FieldPath field names may not start with '$' ('\(k)'); an operator object must have exactly one field", at: loc)
        }
        if k.contains(".") { throw StrataError.badInput("FieldPath field names may not contain '.' ('\(k)')", at: loc) }
        if k.utf8.contains(0) { throw StrataError.badInput("FieldPath field names may not contain null bytes", at: loc) }
    }

    static func parseObject(_ d: Document, at loc: Location) throws -> Expr {
        guard let first = d.fields.first else { return .object([]) }
        if first.key.hasPrefix("$") {
            if d.count != 1 {
                throw StrataError.badInput("an expression specification must contain exactly one field, the name of the expression; found \(d.count) fields: \(ExtendedJSON.string(d))", at: loc)
            }
            return try parseOperator(first.key, first.value, at: loc.appending(first.key))
        }
        var seen = Set<String>()
        var fields: [(String, Expr)] = []
        for (k, v) in d {
            try validateFieldName(k, at: loc.appending(k))
            if !seen.insert(k).inserted {
                throw StrataError.badInput("duplicate field name specified in object literal: \(k)", at: loc.appending(k))
            }
            fields.append((k, try parse(v, at: loc.appending(k))))
        }
        return .object(fields)
    }

    static func parsePositional(_ name: String, _ v: BSON, min: Int, max: Int, at loc: Location) throws -> [Expr] {
        let args: [Expr]
        if case .array(let items) = v {
            args = try items.enumerated().map { try parse($0.element, at: loc.appending(index: $0.offset)) }
        } else {
            args = [try parse(v, at: loc)]
        }
        if args.count < min || args.count > max {
            let msg: String
            if min == max {
                msg = "Expression \(name) takes exactly \(min) arguments. \(args.count) were passed in."
            } else if max == OperatorTable.unlimited {
                msg = "Expression \(name) takes at least \(min) arguments, but \(args.count) were passed in."
            } else {
                msg = "Expression \(name) takes at least \(min) arguments, and at most \(max), but \(args.count) were passed in."
            }
            throw StrataError.badInput(msg, at: loc)
        }
        return args
    }

    static func parseNamed(_ name: String, _ v: BSON, spec: NamedSpec, at loc: Location) throws -> [(String, Expr)] {
        guard case .document(let d) = v else {
            throw StrataError.badInput("\(name) only supports an object as its argument, found \(v.typeName)", at: loc)
        }
        var out: [(String, Expr)] = []
        var seen = Set<String>()
        for (k, x) in d {
            let kl = loc.appending(k)
            guard spec.allows(k) else { throw StrataError.badInput("Unrecognized argument to \(name): \(k)", at: kl) }
            guard seen.insert(k).inserted else { throw StrataError.badInput("duplicate argument \(k) to \(name)", at: kl) }
            switch spec.kind(k) {
            case .expr: out.append((k, try parse(x, at: kl)))
            case .literal: out.append((k, .literal(x)))
            case .exprArray:
                guard case .array(let items) = x else {
                    throw StrataError.badInput("\(name): '\(k)' must be an array of expressions, found \(x.typeName)", at: kl)
                }
                out.append((k, .array(try items.enumerated().map { try parse($0.element, at: kl.appending(index: $0.offset)) })))
            case .vars:
                guard case .document(let vars) = x else {
                    throw StrataError.badInput("\(name): 'vars' must be an object, found \(x.typeName)", at: kl)
                }
                var bound: [(String, Expr)] = []
                for (vn, ve) in vars {
                    try validateVariableName(vn, forWrite: true, at: kl.appending(vn))
                    bound.append((vn, try parse(ve, at: kl.appending(vn))))
                }
                out.append((k, .object(bound)))
            case .branches:
                guard case .array(let items) = x else {
                    throw StrataError.badInput("$switch expected an array for 'branches', found: \(x.typeName)", at: kl)
                }
                var branches: [Expr] = []
                for (i, b) in items.enumerated() {
                    let bl = kl.appending(index: i)
                    guard case .document(let bd) = b else {
                        throw StrataError.badInput("$switch expected each branch to be an object, found: \(b.typeName)", at: bl)
                    }
                    var c: Expr?, t: Expr?
                    for (bk, bv) in bd {
                        switch bk {
                        case "case": c = try parse(bv, at: bl.appending("case"))
                        case "then": t = try parse(bv, at: bl.appending("then"))
                        default: throw StrataError.badInput("$switch found an unknown argument to a branch: \(bk)", at: bl.appending(bk))
                        }
                    }
                    guard let c else { throw StrataError.badInput("$switch requires each branch have a 'case' expression", at: bl) }
                    guard let t else { throw StrataError.badInput("$switch requires each branch have a 'then' expression", at: bl) }
                    branches.append(.object([("case", c), ("then", t)]))
                }
                if branches.isEmpty { throw StrataError.badInput("$switch requires at least one branch", at: kl) }
                out.append((k, .array(branches)))
            }
        }
        for r in spec.required where !seen.contains(r) {
            throw StrataError.badInput("Missing '\(r)' parameter to \(name)", at: loc)
        }
        return out
    }

    static func parseOperator(_ name: String, _ v: BSON, at loc: Location) throws -> Expr {
        if name == "$literal" || name == "$const" { return .literal(v) }
        guard let shape = OperatorTable.shapes[name] else {
            throw StrataError.badInput("unknown expression operator \(name)", at: loc)
        }
        switch shape {
        case .unsupported(let why):
            throw StrataError.unsupported("\(name) is not supported by strata's evaluator (\(why))", at: loc)
        case .positional(let lo, let hi):
            return .op(name, .positional(try parsePositional(name, v, min: lo, max: hi, at: loc)))
        case .named(let spec):
            let args = try parseNamed(name, v, spec: spec, at: loc)
            try validateNamed(name, args, raw: v, at: loc)
            return .op(name, .named(args))
        case .percentile:
            let (options, input) = try PercentileOptions.parse(name, v, at: loc)
            return .op(name, .named(options.namedArguments(input)))
        case .cond:
            if case .document = v {
                return .op(name, .named(try parseNamed(name, v, spec: NamedSpec(required: ["if", "then", "else"], optional: []), at: loc)))
            }
            return .op(name, .positional(try parsePositional(name, v, min: 3, max: 3, at: loc)))
        case .datePart:
            if case .document(let d) = v, let k = d.fields.first?.key, !k.hasPrefix("$") {
                return .op(name, .named(try parseNamed(name, v, spec: NamedSpec(required: ["date"], optional: ["timezone"]), at: loc)))
            }
            return .op(name, .positional(try parsePositional(name, v, min: 1, max: 1, at: loc)))
        case .getField:
            if case .document(let d) = v, let k = d.fields.first?.key, !k.hasPrefix("$") {
                var args = try parseNamed(name, v, spec: NamedSpec(required: ["field"], optional: ["input"]), at: loc)
                try validateConstantFieldName(args.first { $0.0 == "field" }!.1, name, at: loc.appending("field"))
                if !args.contains(where: { $0.0 == "input" }) { args.append(("input", .variable("CURRENT", []))) }
                return .op(name, .named(args))
            }
            let f = try parse(v, at: loc)
            try validateConstantFieldName(f, name, at: loc)
            return .op(name, .named([("field", f), ("input", .variable("CURRENT", []))]))
        }
    }

    static func validateConstantFieldName(_ e: Expr, _ op: String, at loc: Location) throws {
        guard case .literal(.string) = e else {
            throw StrataError.badInput("\(op) requires 'field' to evaluate to a constant string", at: loc)
        }
    }

    static func validateNamed(_ name: String, _ args: [(String, Expr)], raw: BSON, at loc: Location) throws {
        func arg(_ k: String) -> Expr? { args.first { $0.0 == k }?.1 }
        switch name {
        case "$map", "$filter":
            if let a = arg("as") {
                guard case .literal(.string(let s)) = a else {
                    throw StrataError.badInput("\(name): 'as' must be a string", at: loc.appending("as"))
                }
                try validateVariableName(s, forWrite: true, at: loc.appending("as"))
            }
        case "$zip":
            if let u = arg("useLongestLength") {
                guard case .literal(.bool) = u else {
                    throw StrataError.badInput("useLongestLength must be a bool", at: loc.appending("useLongestLength"))
                }
            }
            if case .array(let ins)? = arg("inputs"), ins.isEmpty {
                throw StrataError.badInput("$zip requires at least one input array", at: loc)
            }
            if let d = arg("defaults") {
                if arg("useLongestLength") != .literal(.bool(true)) {
                    throw StrataError.badInput("cannot specify defaults unless useLongestLength is true", at: loc)
                }
                if case .array(let ds) = d, case .array(let ins)? = arg("inputs"), ds.count != ins.count {
                    throw StrataError.badInput("defaults and inputs must have the same length", at: loc)
                }
            }
        case "$sortArray":
            guard case .literal(let s)? = arg("sortBy") else { return }
            _ = try SortPattern.parseSortArraySpec(s, at: loc.appending("sortBy"))
        case "$convert":
            for k in ["format", "base", "byteOrder", "subtype"] where arg(k) != nil {
                throw StrataError.unsupported("$convert with '\(k)' is not supported by strata's evaluator", at: loc.appending(k))
            }
        case "$setField", "$unsetField":
            try validateConstantFieldName(arg("field")!, name, at: loc.appending("field"))
        case "$dateFromParts":
            let has = Set(args.map(\.0))
            if !has.contains("year") && !has.contains("isoWeekYear") {
                throw StrataError.badInput("$dateFromParts requires either 'year' or 'isoWeekYear' to be present", at: loc)
            }
            if has.contains("year") && (has.contains("isoWeekYear") || has.contains("isoWeek") || has.contains("isoDayOfWeek")) {
                throw StrataError.badInput("$dateFromParts does not allow mixing natural dates with ISO dates", at: loc)
            }
            if has.contains("isoWeekYear") && (has.contains("month") || has.contains("day")) {
                throw StrataError.badInput("$dateFromParts does not allow mixing ISO dates with natural dates", at: loc)
            }
        default: break
        }
    }
}
