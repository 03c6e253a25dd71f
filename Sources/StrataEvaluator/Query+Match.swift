import StrataBSON
import StrataLibBSON

extension Query {
    /// Whether `doc` matches, with mongod's semantics: implicit array traversal on every path
    /// component (numeric components also index arrays), type bracketing for comparisons,
    /// `{a: null}` matching missing, `$ne`/`$nin`/`$not` as negations of the whole path.
    package func matches(_ doc: Document, variables: Variables = Variables()) throws -> Bool {
        try QueryMatcher(variables: variables).matches(self, doc)
    }
}

struct QueryMatcher {
    let variables: Variables

    func matches(_ q: Query, _ doc: Document) throws -> Bool {
        switch q {
        case .and(let qs):
            for x in qs where try !matches(x, doc) { return false }
            return true
        case .or(let qs):
            for x in qs where try matches(x, doc) { return true }
            return false
        case .nor(let qs):
            for x in qs where try matches(x, doc) { return false }
            return true
        case .expr(let e):
            return BSON.truthy(try EvalContext(root: doc, variables: variables).eval(e))
        case .alwaysTrue: return true
        case .alwaysFalse: return false
        case .field(let path, let preds):
            let comps = Query.components(path)
            for p in preds where try !matchesPath(p, comps, doc) { return false }
            return true
        }
    }

    // MARK: path level

    func matchesPath(_ p: FieldPredicate, _ path: [String], _ doc: Document) throws -> Bool {
        switch p {
        case .ne(let v): return try !matchesPath(.eq(v), path, doc)
        case .nin(let vs): return try !matchesPath(.in(vs), path, doc)
        case .exists(false): return try !matchesPath(.exists(true), path, doc)
        case .not(let ps):
            for x in ps where try !matchesPath(x, path, doc) { return true }
            return false
        case .all(let vs):
            if vs.isEmpty { return false }
            for v in vs {
                let pred: FieldPredicate
                if case .regex(let r) = v { pred = .regex(r) } else { pred = .eq(v) }
                if try !matchesPath(pred, path, doc) { return false }
            }
            return true
        case .allElemMatch(let ems):
            if ems.isEmpty { return false }
            for x in ems where try !matchesPath(x, path, doc) { return false }
            return true
        case .size, .elemMatchObject, .elemMatchValue:
            return try anyElement(path, doc, expandLeafArrays: false) { try self.matchesSingle(p, $0) }
        default:
            return try anyElement(path, doc, expandLeafArrays: true) { try self.matchesSingle(p, $0) }
        }
    }

    /// mongod's BSONElementIterator: calls `test` on each value `path` reaches (nil for a
    /// missing value) until it returns true.
    func anyElement(_ path: [String], _ doc: Document, expandLeafArrays: Bool, _ test: (BSON?) throws -> Bool) throws -> Bool {
        try iterate(path[...], .document(doc), expandLeafArrays, test)
    }

    private func field(_ container: BSON, _ name: String) -> BSON? {
        switch container {
        case .document(let d): return d[name]
        case .array(let a):
            guard let i = Int(name), i >= 0, i < a.count, name.first != "+", !(name.count > 1 && name.first == "0") else { return nil }
            return a[i]
        default: return nil
        }
    }

    private func iterate(_ path: ArraySlice<String>, _ container: BSON, _ expand: Bool, _ test: (BSON?) throws -> Bool) throws -> Bool {
        // getFieldDottedOrArray: descend through documents until an array or the end.
        var cur = container
        var i = path.startIndex
        while true {
            guard let v = field(cur, path[i]) else { return try test(nil) }
            if i == path.endIndex - 1 {
                if case .array(let items) = v {
                    if expand {
                        for x in items where try test(x) { return true }
                    }
                    return try test(v)
                }
                return try test(v)
            }
            switch v {
            case .document: cur = v; i += 1; continue
            case .array(let items):
                let rest = path[(i + 1)...]
                let next = rest.first!
                let offset: Int? = {
                    guard let n = Int(next), n >= 0, String(n) == next else { return nil }
                    return n
                }()
                for (j, x) in items.enumerated() {
                    if case .document = x {
                        if try iterate(rest, x, expand, test) { return true }
                    }
                    if let offset, offset == j {
                        if rest.count == 1 {
                            if try test(x) { return true }
                        } else {
                            switch x {
                            case .document, .array:
                                if try iterate(rest.dropFirst(), x, expand, test) { return true }
                            default: break
                            }
                        }
                    }
                }
                return false
            default:
                return try test(nil)
            }
        }
    }

    // MARK: single element

    func matchesSingle(_ p: FieldPredicate, _ e: BSON?) throws -> Bool {
        switch p {
        case .eq(let v): return QueryMatcher.equal(e, v)
        case .ne(let v): return !QueryMatcher.equal(e, v)
        case .gt(let v): return QueryMatcher.compare(e, v, .gt)
        case .gte(let v): return QueryMatcher.compare(e, v, .gte)
        case .lt(let v): return QueryMatcher.compare(e, v, .lt)
        case .lte(let v): return QueryMatcher.compare(e, v, .lte)
        case .in(let vs):
            for v in vs {
                if case .regex(let r) = v {
                    if try regexMatches(r, e) { return true }
                } else if QueryMatcher.equal(e, v) { return true }
            }
            return false
        case .nin(let vs): return try !matchesSingle(.in(vs), e)
        case .exists(let b): return (e != nil) == b
        case .type(let ts):
            guard let e else { return false }
            return ts.contains { t in
                switch t {
                case .number: return e.isNumber
                case .code(let c): return e.typeCode == c
                }
            }
        case .size(let n):
            guard case .array(let items)? = e else { return false }
            return Int64(items.count) == n
        case .all(let vs):
            if vs.isEmpty { return false }
            for v in vs {
                if case .regex(let r) = v { if try !regexMatches(r, e) { return false } }
                else if !QueryMatcher.equal(e, v) { return false }
            }
            return true
        case .allElemMatch(let ems):
            if ems.isEmpty { return false }
            for x in ems where try !matchesSingle(x, e) { return false }
            return true
        case .elemMatchObject(let q):
            guard case .array(let items)? = e else { return false }
            for x in items {
                switch x {
                case .document(let d): if try matches(q, d) { return true }
                case .array(let a):
                    let d = Document(a.enumerated().map { (String($0.offset), $0.element) })
                    if try matches(q, d) { return true }
                default: continue
                }
            }
            return false
        case .elemMatchValue(let ps):
            guard case .array(let items)? = e else { return false }
            for x in items {
                var all = true
                for p in ps where try !matchesSingle(p, x) { all = false; break }
                if all { return true }
            }
            return false
        case .not(let ps):
            for x in ps where try !matchesSingle(x, e) { return true }
            return false
        case .regex(let r): return try regexMatches(r, e)
        case .mod(let d, let r):
            guard let e, e.isNumber, let dv = e.doubleValue, dv.isFinite else { return false }
            let x = Numeric.coerceToLong(e)!
            return (d == -1 ? 0 : x % d) == r
        case .bitsAllSet(let ps): return bits(e, ps) { $0.allSatisfy { $0 } }
        case .bitsAllClear(let ps): return bits(e, ps) { $0.allSatisfy { !$0 } }
        case .bitsAnySet(let ps): return bits(e, ps) { $0.contains(true) }
        case .bitsAnyClear(let ps): return bits(e, ps) { $0.contains(false) }
        }
    }

    func bits(_ e: BSON?, _ positions: [Int], _ f: ([Bool]) -> Bool) -> Bool {
        switch e {
        case .binary(let b)?:
            return f(positions.map { p in p / 8 < b.data.count && b.data[p / 8] & (1 << (p % 8)) != 0 })
        case let n? where n.isNumber:
            // integral values representable as a 64-bit integer only
            guard let v = n.exactInt else { return false }
            return f(positions.map { p in p >= 63 ? v < 0 : (v >> p) & 1 == 1 })
        default: return false
        }
    }

    func regexMatches(_ r: BSONRegex, _ e: BSON?) throws -> Bool {
        switch e {
        case .string(let s)?, .symbol(let s)?: return try CompiledRegex.get(r.pattern, r.options).matches(s)
        case .regex(let x)?: return x.pattern == r.pattern && x.options == r.options
        default: return false
        }
    }

    enum Cmp { case gt, gte, lt, lte }

    /// Equality of the matcher: null matches null and missing; otherwise same canonical type
    /// and equal value.
    static func equal(_ e: BSON?, _ v: BSON) -> Bool {
        if case .null = v {
            switch e { case nil, .null?: return true; default: return false }
        }
        guard let e else { return false }
        if BSONOrder.rank(e) != BSONOrder.rank(v) { return false }
        if e.isNumber && v.isNumber {
            if let a = e.doubleValue, let b = v.doubleValue, a.isNaN || b.isNaN { return a.isNaN && b.isNaN }
        }
        return BSONOrder.compare(e, v) == 0
    }

    /// mongod's ComparisonMatchExpression: type bracketing, MinKey/MaxKey, NaN, null ~ missing.
    static func compare(_ e: BSON?, _ v: BSON, _ op: Cmp) -> Bool {
        let re = BSONOrder.rank(e), rv = BSONOrder.rank(v)
        if re != rv {
            if re + rv == 5 {  // null vs missing/undefined
                return op == .gte || op == .lte
            }
            if case .maxKey = v { return op == .lt || op == .lte }
            if case .minKey = v { return op == .gt || op == .gte }
            return false
        }
        guard let e else { return false }
        if e.isNumber, let a = e.doubleValue, let b = v.doubleValue, a.isNaN || b.isNaN {
            let both = a.isNaN && b.isNaN
            switch op { case .gte, .lte: return both; default: return false }
        }
        let c = BSONOrder.compare(e, v)
        switch op {
        case .gt: return c > 0
        case .gte: return c >= 0
        case .lt: return c < 0
        case .lte: return c <= 0
        }
    }
}
