import StrataBSON
import StrataLibBSON

extension Query {
    static let typeAliases: [String: FieldPredicate.TypeSpec] = [
        "double": .code(1), "string": .code(2), "object": .code(3), "array": .code(4), "binData": .code(5),
        "undefined": .code(6), "objectId": .code(7), "bool": .code(8), "date": .code(9), "null": .code(10),
        "regex": .code(11), "dbPointer": .code(12), "javascript": .code(13), "symbol": .code(14),
        "javascriptWithScope": .code(15), "int": .code(16), "timestamp": .code(17), "long": .code(18),
        "decimal": .code(19), "minKey": .code(-1), "maxKey": .code(127), "number": .number,
    ]

    /// Parses a filter document.
    package static func parse(_ filter: Document, at loc: Location = Location()) throws -> Query {
        var clauses: [Query] = []
        for (k, v) in filter {
            let l = loc.appending(k)
            if k.hasPrefix("$") {
                switch k {
                case "$and", "$or", "$nor":
                    guard case .array(let items) = v, !items.isEmpty else {
                        throw StrataError.badInput("\(k) must be a nonempty array", at: l)
                    }
                    let subs = try items.enumerated().map { (i, x) -> Query in
                        guard case .document(let d) = x else {
                            throw StrataError.badInput("\(k)/$or/$nor entries need to be full objects", at: l.appending(index: i))
                        }
                        return try parse(d, at: l.appending(index: i))
                    }
                    clauses.append(k == "$and" ? .and(subs) : k == "$or" ? .or(subs) : .nor(subs))
                case "$expr":
                    clauses.append(.expr(try Expr.parse(v, at: l)))
                case "$comment":
                    continue
                case "$alwaysTrue", "$alwaysFalse":
                    guard v.exactInt == 1 else { throw StrataError.badInput("\(k) must be an integer value of 1", at: l) }
                    clauses.append(k == "$alwaysTrue" ? .alwaysTrue : .alwaysFalse)
                case "$where", "$text", "$jsonSchema", "$sampleRate", "$atomic", "$isolated":
                    throw StrataError.unsupported("\(k) is not supported by strata's evaluator", at: l)
                default:
                    throw StrataError.badInput("unknown top level operator: \(k)", at: l)
                }
                continue
            }
            if k.isEmpty || Query.components(k).contains(where: \.isEmpty) {
                throw StrataError.badInput("invalid field path '\(k)'", at: l)
            }
            clauses.append(.field(path: k, try parsePredicates(v, at: l)))
        }
        return clauses.count == 1 ? clauses[0] : .and(clauses)
    }

    /// The predicates of `{path: value}`.
    static func parsePredicates(_ v: BSON, at l: Location) throws -> [FieldPredicate] {
        switch v {
        case .regex(let r): _ = try compile(r, at: l); return [.regex(r)]
        case .document(let d) where d.fields.first.map({ $0.key.hasPrefix("$") }) ?? false:
            if isDBRef(d) { return [.eq(v)] }
            return try parseOperators(d, at: l)
        default: return [.eq(v)]
        }
    }

    static func isDBRef(_ d: Document) -> Bool { d.fields.first?.key == "$ref" }

    static func parseOperators(_ d: Document, at l: Location) throws -> [FieldPredicate] {
        var out: [FieldPredicate] = []
        var regexPattern: (String, Location)?
        var options: String?
        var regexValue: BSONRegex?
        for (op, arg) in d {
            let ol = l.appending(op)
            // One arm per query operator: a flat dispatch, its bigger arms in helpers below.
            switch op {
            case "$eq": out.append(.eq(arg))
            case "$ne": out.append(.ne(arg))
            case "$gt": out.append(.gt(arg))
            case "$gte": out.append(.gte(arg))
            case "$lt": out.append(.lt(arg))
            case "$lte": out.append(.lte(arg))
            case "$in", "$nin":
                guard case .array(let items) = arg else { throw StrataError.badInput("\(op) needs an array", at: ol) }
                for (i, x) in items.enumerated() {
                    if case .document(let xd) = x, xd.fields.first?.key.hasPrefix("$") == true, !isDBRef(xd) {
                        throw StrataError.badInput("cannot nest $ under \(op)", at: ol.appending(index: i))
                    }
                    if case .regex(let r) = x { _ = try compile(r, at: ol.appending(index: i)) }
                }
                out.append(op == "$in" ? .in(items) : .nin(items))
            case "$exists": out.append(.exists(BSON.truthy(arg)))
            case "$type":
                out.append(.type(try parseTypeSpecs(arg, at: ol)))
            case "$size":
                guard arg.isNumber else { throw StrataError.badInput("$size needs a number", at: ol) }
                guard let n = arg.exactInt else { throw StrataError.badInput("$size must be a whole number", at: ol) }
                out.append(.size(n))
            case "$all":
                out.append(try parseAll(arg, at: ol))
            case "$elemMatch":
                guard case .document(let em) = arg else { throw StrataError.badInput("$elemMatch needs an Object", at: ol) }
                let first = em.fields.first?.key
                let logical: Set<String> = ["$and", "$or", "$nor", "$expr", "$where", "$text", "$comment", "$alwaysTrue", "$alwaysFalse"]
                if let first, first.hasPrefix("$"), !logical.contains(first), !isDBRef(em) {
                    out.append(.elemMatchValue(try parseOperators(em, at: ol)))
                } else {
                    out.append(.elemMatchObject(try parse(em, at: ol)))
                }
            case "$not":
                switch arg {
                case .regex(let r): _ = try compile(r, at: ol); out.append(.not([.regex(r)]))
                case .document(let nd):
                    if nd.isEmpty { throw StrataError.badInput("$not cannot be empty", at: ol) }
                    guard nd.fields.first!.key.hasPrefix("$") else {
                        throw StrataError.badInput("$not needs a regex or a document of operators", at: ol)
                    }
                    out.append(.not(try parseOperators(nd, at: ol)))
                default:
                    throw StrataError.badInput("$not needs a regex or a document", at: ol)
                }
            case "$regex":
                switch arg {
                case .string(let s): regexPattern = (s, ol)
                case .regex(let r): regexValue = r
                default: throw StrataError.badInput("$regex has to be a string", at: ol)
                }
            case "$options":
                guard case .string(let s) = arg else { throw StrataError.badInput("$options has to be a string", at: ol) }
                options = s
            case "$mod":
                out.append(try parseMod(arg, at: ol))
            case "$bitsAllSet", "$bitsAllClear", "$bitsAnySet", "$bitsAnyClear":
                let positions = try parseBitPositions(arg, op, at: ol)
                switch op {
                case "$bitsAllSet": out.append(.bitsAllSet(positions))
                case "$bitsAllClear": out.append(.bitsAllClear(positions))
                case "$bitsAnySet": out.append(.bitsAnySet(positions))
                default: out.append(.bitsAnyClear(positions))
                }
            case "$comment": continue
            case "$geoWithin", "$geoIntersects", "$near", "$nearSphere", "$within", "$box", "$center", "$centerSphere",
                 "$polygon", "$geometry", "$maxDistance", "$minDistance", "$text", "$where", "$_internalSchemaType":
                throw StrataError.unsupported("\(op) is not supported by strata's evaluator", at: ol)
            default:
                throw StrataError.badInput("unknown operator: \(op)", at: ol)
            }
        }
        if let regexValue {
            if let options, !regexValue.options.isEmpty, !options.isEmpty {
                throw StrataError.badInput("options set on both regex and $options", at: l)
            }
            let r = BSONRegex(pattern: regexValue.pattern, options: options ?? regexValue.options)
            _ = try compile(r, at: l)
            out.append(.regex(r))
        } else if let (p, pl) = regexPattern {
            let r = BSONRegex(pattern: p, options: options ?? "")
            _ = try compile(r, at: pl)
            out.append(.regex(r))
        } else if options != nil {
            throw StrataError.badInput("$options needs a $regex", at: l)
        }
        return out
    }

    /// `$type`: one alias or code, or an array of them.
    static func parseTypeSpecs(_ arg: BSON, at ol: Location) throws -> [FieldPredicate.TypeSpec] {
        var specs: [FieldPredicate.TypeSpec] = []
        let items: [BSON]
        if case .array(let a) = arg { items = a } else { items = [arg] }
        for x in items {
            switch x {
            case .string(let s):
                guard let t = typeAliases[s] else { throw StrataError.badInput("Unknown type name alias: \(s)", at: ol) }
                specs.append(t)
            case let n where n.isNumber:
                guard let c = n.exactInt, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, -1, 127].contains(c) else {
                    throw StrataError.badInput("Invalid numerical type code: \(show(n))", at: ol)
                }
                specs.append(.code(Int(c)))
            default:
                throw StrataError.badInput("type must be represented as a number or a string", at: ol)
            }
        }
        if specs.isEmpty { throw StrataError.badInput("$type must match at least one type", at: ol) }
        return specs
    }

    /// `$all`: values, or (all or none of them) `$elemMatch` documents.
    static func parseAll(_ arg: BSON, at ol: Location) throws -> FieldPredicate {
        guard case .array(let items) = arg else { throw StrataError.badInput("$all needs an array", at: ol) }
        let isElemMatch: (BSON) -> Bool = { x in
            if case .document(let xd) = x, xd.fields.first?.key == "$elemMatch" { return true }
            return false
        }
        if let first = items.first, isElemMatch(first) {
            var ems: [FieldPredicate] = []
            for (i, x) in items.enumerated() {
                guard isElemMatch(x), case .document(let xd) = x else {
                    throw StrataError.badInput("$all/$elemMatch has to be consistent", at: ol.appending(index: i))
                }
                ems += try parseOperators(xd, at: ol.appending(index: i))
            }
            return .allElemMatch(ems)
        } else {
            for (i, x) in items.enumerated() {
                if case .document(let xd) = x, xd.fields.first?.key.hasPrefix("$") == true, !isDBRef(xd) {
                    if xd.fields.first?.key == "$elemMatch" {
                        throw StrataError.badInput("$all/$elemMatch has to be consistent", at: ol.appending(index: i))
                    }
                    throw StrataError.badInput("no $ expressions in $all", at: ol.appending(index: i))
                }
            }
            return .all(items)
        }
    }

    /// `$mod: [divisor, remainder]`.
    static func parseMod(_ arg: BSON, at ol: Location) throws -> FieldPredicate {
        guard case .array(let items) = arg else { throw StrataError.badInput("malformed mod, needs to be an array", at: ol) }
        if items.count < 2 { throw StrataError.badInput("malformed mod, not enough elements", at: ol) }
        if items.count > 2 { throw StrataError.badInput("malformed mod, too many elements", at: ol) }
        guard items[0].isNumber, let dv = items[0].doubleValue, dv.isFinite else {
            throw StrataError.badInput("malformed mod, divisor not a number", at: ol)
        }
        guard items[1].isNumber, let rv = items[1].doubleValue, rv.isFinite else {
            throw StrataError.badInput("malformed mod, remainder not a number", at: ol)
        }
        let divisor = Numeric.coerceToLong(items[0])!, rem = Numeric.coerceToLong(items[1])!
        if divisor == 0 { throw StrataError.badInput("divisor cannot be 0", at: ol) }
        return .mod(divisor: divisor, remainder: rem)
    }

    static func compile(_ r: BSONRegex, at l: Location) throws -> CompiledRegex {
        do { return try CompiledRegex.get(r.pattern, r.options, op: nil) } catch let e as StrataError {
            throw StrataError.badInput(e.message, at: l)
        }
    }

    static func parseBitPositions(_ arg: BSON, _ op: String, at l: Location) throws -> [Int] {
        switch arg {
        case .array(let items):
            return try items.map { x in
                guard let n = x.exactInt, x.isNumber, n >= 0 else {
                    throw StrataError.badInput("bit positions must be non-negative integers", at: l)
                }
                return Int(n)
            }
        case .binary(let b):
            var out: [Int] = []
            for (i, byte) in b.data.enumerated() { for bit in 0..<8 where byte & (1 << bit) != 0 { out.append(i * 8 + bit) } }
            return out
        case let n where n.isNumber:
            guard let v = n.exactInt, v >= 0 else { throw StrataError.badInput("\(op) bitmask must be a non-negative integer", at: l) }
            return (0..<63).filter { v & (1 << $0) != 0 }
        default:
            throw StrataError.badInput("\(op) takes an Array, a number, or a BinData but received: \(arg.typeName)", at: l)
        }
    }
}

// MARK: - serialization

extension Query {
    /// The filter document (`Query.parse(q.bson) == q` up to the implicit `$and`).
    package var bson: Document {
        switch self {
        case .and(let qs):
            // one document when the clauses do not repeat a key, $and otherwise
            var d = Document()
            var ok = true
            for q in qs {
                for (k, v) in q.bson {
                    if d[k] != nil || k == "$and" { ok = false; break }
                    d.append(k, v)
                }
                if !ok { break }
            }
            if ok && !qs.isEmpty { return d }
            if qs.isEmpty { return [:] }
            return ["$and": .array(qs.map { .document($0.bson) })]
        case .or(let qs): return ["$or": .array(qs.map { .document($0.bson) })]
        case .nor(let qs): return ["$nor": .array(qs.map { .document($0.bson) })]
        case .expr(let e): return ["$expr": e.bson]
        case .alwaysTrue: return ["$alwaysTrue": 1]
        case .alwaysFalse: return ["$alwaysFalse": 1]
        case .field(let path, let preds):
            if preds.count == 1, case .eq(let v) = preds[0], !FieldPredicate.needsEqOperator(v) {
                return Document([(path, v)])
            }
            return Document([(path, .document(FieldPredicate.document(preds)))])
        }
    }
}

extension FieldPredicate {
    static func needsEqOperator(_ v: BSON) -> Bool {
        switch v {
        case .regex: return true
        case .document(let d): return d.fields.first?.key.hasPrefix("$") ?? false
        default: return false
        }
    }

    /// The operator document of several predicates (`{$gt: 1, $lt: 5}`).
    package static func document(_ preds: [FieldPredicate]) -> Document {
        var d = Document()
        for p in preds {
            switch p {
            case .eq(let v): d.append("$eq", v)
            case .ne(let v): d.append("$ne", v)
            case .gt(let v): d.append("$gt", v)
            case .gte(let v): d.append("$gte", v)
            case .lt(let v): d.append("$lt", v)
            case .lte(let v): d.append("$lte", v)
            case .in(let vs): d.append("$in", .array(vs))
            case .nin(let vs): d.append("$nin", .array(vs))
            case .exists(let b): d.append("$exists", .bool(b))
            case .type(let ts):
                let items: [BSON] = ts.map { t in
                    switch t { case .number: return "number"; case .code(let c): return .int32(Int32(c)) }
                }
                d.append("$type", items.count == 1 ? items[0] : .array(items))
            case .size(let n): d.append("$size", .int64(n))
            case .all(let vs): d.append("$all", .array(vs))
            case .allElemMatch(let ems):
                d.append("$all", .array(ems.map { .document(document([$0])) }))
            case .elemMatchObject(let q): d.append("$elemMatch", .document(q.bson))
            case .elemMatchValue(let ps): d.append("$elemMatch", .document(document(ps)))
            case .not(let ps):
                if ps.count == 1, case .regex(let r) = ps[0] { d.append("$not", .regex(r)) } else { d.append("$not", .document(document(ps))) }
            case .regex(let r): d.append("$regex", .regex(r))
            case .mod(let a, let b): d.append("$mod", [.int64(a), .int64(b)])
            case .bitsAllSet(let p): d.append("$bitsAllSet", .array(p.map { .int32(Int32($0)) }))
            case .bitsAllClear(let p): d.append("$bitsAllClear", .array(p.map { .int32(Int32($0)) }))
            case .bitsAnySet(let p): d.append("$bitsAnySet", .array(p.map { .int32(Int32($0)) }))
            case .bitsAnyClear(let p): d.append("$bitsAnyClear", .array(p.map { .int32(Int32($0)) }))
            }
        }
        return d
    }
}
