import StrataBSON

/// A parsed projection: `$project`, `$addFields`/`$set`, `$unset`, or a find-command
/// projection, as a tree of paths, applied with mongod's rules and output field order:
///
/// - inclusion: the included fields in the order of the *input* document (`_id` included
///   unless excluded), then the computed fields in the order of the specification; a dotted
///   inclusion over an array keeps the documents (projected) and drops the scalars;
/// - exclusion: the input document without the excluded paths (also inside arrays);
/// - `$addFields`: the input document, computed fields replacing in place or appended,
///   a dotted field over a scalar replacing it by a document, over an array set in every
///   element; a missing result (`$$REMOVE`) removes the field.
/// Expressions are evaluated against the input document (not the partly built output).
public struct Projection: Sendable, Equatable {
    package enum Mode: Sendable, Equatable { case inclusion, exclusion, addFields }

    package indirect enum Entry: Sendable, Equatable {
        case include
        case exclude
        case computed(Expr)
        case nested(Node)
        /// find projections only: `{a: {$slice: n}}` / `{$slice: [skip, n]}`.
        case slice(skip: Int?, limit: Int)
        /// find projections only: `{a: {$elemMatch: {...}}}`.
        case elemMatch(Query)
    }

    package struct Node: Sendable, Equatable {
        package var fields: [(String, Entry)]
        package init(_ fields: [(String, Entry)] = []) { self.fields = fields }
        package static func == (a: Node, b: Node) -> Bool {
            a.fields.count == b.fields.count && zip(a.fields, b.fields).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        }
        package subscript(name: String) -> Entry? { fields.first { $0.0 == name }?.1 }
        var hasComputed: Bool {
            fields.contains {
                switch $0.1 {
                case .computed: return true
                case .nested(let n): return n.hasComputed
                default: return false
                }
            }
        }
    }

    package var mode: Mode
    package var root: Node
    /// find-command projection (nested arrays are not descended into; $slice/$elemMatch).
    package var isFind: Bool

    package init(mode: Mode, root: Node, isFind: Bool = false) {
        self.mode = mode; self.root = root; self.isFind = isFind
    }
}

// MARK: - parsing

extension Projection {
    /// `$project`.
    package static func parseProject(_ spec: Document, at loc: Location = Location()) throws -> Projection {
        try parseProjection(spec, at: loc, find: false)
    }

    /// A find command's `projection`.
    package static func parseFind(_ spec: Document, at loc: Location = Location()) throws -> Projection {
        try parseProjection(spec, at: loc, find: true)
    }

    /// `$addFields` / `$set`.
    package static func parseAddFields(_ spec: Document, at loc: Location = Location()) throws -> Projection {
        var root = Node()
        try addFieldsInto(&root, spec, prefix: [], at: loc)
        return Projection(mode: .addFields, root: root)
    }

    /// `$unset`: a field path or an array of them.
    package static func parseUnset(_ v: BSON, at loc: Location = Location()) throws -> Projection {
        let names: [String]
        switch v {
        case .string(let s): names = [s]
        case .array(let items):
            names = try items.map {
                guard case .string(let s) = $0 else { throw StrataError.badInput("$unset specification must be a string or an array containing only string values", at: loc) }
                return s
            }
            if names.isEmpty { throw StrataError.badInput("$unset specification must be a string or an array with at least one field", at: loc) }
        default:
            throw StrataError.badInput("$unset specification must be a string or an array", at: loc)
        }
        var root = Node()
        for n in names {
            let path = try splitPath(n, at: loc)
            try insert(&root, path[...], .exclude, full: n, at: loc)
        }
        return Projection(mode: .exclusion, root: root)
    }

    static func splitPath(_ key: String, at loc: Location) throws -> [String] {
        let parts = Query.components(key)
        for p in parts {
            if p.isEmpty { throw StrataError.badInput("FieldPath field names may not be empty strings ('\(key)')", at: loc) }
            if p.hasPrefix("$") { throw StrataError.badInput("FieldPath field names may not start with '$' ('\(key)')", at: loc) }
        }
        return parts
    }

    /// Inserts a leaf, reporting path collisions like mongod.
    static func insert(_ node: inout Node, _ path: ArraySlice<String>, _ entry: Entry, full: String, at loc: Location) throws {
        let name = path.first!
        let idx = node.fields.firstIndex { $0.0 == name }
        if path.count == 1 {
            if idx != nil { throw StrataError.badInput("Path collision at \(full)", at: loc) }
            node.fields.append((name, entry))
            return
        }
        var child: Node
        if let idx {
            guard case .nested(let n) = node.fields[idx].1 else {
                throw StrataError.badInput("Path collision at \(full) remaining portion \(path.dropFirst().joined(separator: "."))", at: loc)
            }
            child = n
        } else {
            child = Node()
        }
        try insert(&child, path.dropFirst(), entry, full: full, at: loc)
        if let idx { node.fields[idx].1 = .nested(child) } else { node.fields.append((name, .nested(child))) }
    }

    static func parseProjection(_ spec: Document, at loc: Location, find: Bool) throws -> Projection {
        let what = find ? "projection" : "$project"
        if spec.isEmpty && !find { throw StrataError.badInput("\(what) specification must have at least one field", at: loc) }
        var root = Node()
        var sawInclusion = false, sawExclusion = false, sawComputed = false, sawElemMatch = false
        var firstExclusion: String?, firstInclusion: String?
        func visit(_ d: Document, prefix: [String], at l: Location) throws {
            for (k, v) in d {
                let kl = l.appending(k)
                if find && (k == "$" || k.hasSuffix(".$")) {
                    throw StrataError.unsupported("positional projections ('\(k)') are not supported by strata's evaluator", at: kl)
                }
                let path = prefix + (try splitPath(k, at: kl))
                let full = path.joined(separator: ".")
                let isId = path == ["_id"]
                switch v {
                case .bool, .int32, .int64, .double, .decimal128:
                    if BSON.truthy(v) {
                        if !isId { sawInclusion = true; firstInclusion = firstInclusion ?? full }
                        try insert(&root, path[...], .include, full: full, at: kl)
                    } else {
                        if !isId { sawExclusion = true; firstExclusion = firstExclusion ?? full }
                        try insert(&root, path[...], .exclude, full: full, at: kl)
                    }
                case .document(let sub):
                    guard let first = sub.fields.first?.key else {
                        throw StrataError.badInput("An empty sub-projection is not a valid value. Found empty object at path", at: kl)
                    }
                    if first.hasPrefix("$") {
                        if find && (first == "$slice" || first == "$elemMatch" || first == "$meta") {
                            guard sub.count == 1 else { throw StrataError.badInput("projection operators take one field", at: kl) }
                            switch first {
                            case "$slice":
                                try insert(&root, path[...], try parseSlice(sub["$slice"]!, at: kl.appending("$slice")), full: full, at: kl)
                            case "$elemMatch":
                                guard case .document(let q) = sub["$elemMatch"]! else {
                                    throw StrataError.badInput("elemMatch: Invalid argument, object required.", at: kl.appending("$elemMatch"))
                                }
                                if path.count > 1 { throw StrataError.badInput("Cannot use $elemMatch projection on a nested field.", at: kl) }
                                sawElemMatch = true
                                try insert(&root, path[...], .elemMatch(try Query.parse(q, at: kl.appending("$elemMatch"))), full: full, at: kl)
                            default:
                                throw StrataError.unsupported("$meta projections are not supported by strata's evaluator", at: kl)
                            }
                        } else {
                            sawComputed = true
                            try insert(&root, path[...], .computed(try Expr.parse(v, at: kl)), full: full, at: kl)
                        }
                    } else {
                        try visit(sub, prefix: path, at: kl)
                    }
                default:
                    sawComputed = true
                    try insert(&root, path[...], .computed(try Expr.parse(v, at: kl)), full: full, at: kl)
                }
            }
        }
        try visit(spec, prefix: [], at: loc)
        if sawExclusion && (sawInclusion || sawElemMatch) {
            throw StrataError.badInput("Cannot do inclusion on field \(firstInclusion ?? "") in exclusion projection", at: loc)
        }
        if sawExclusion && sawComputed {
            throw StrataError.badInput("Invalid \(what) :: caused by :: Cannot use expression other than $meta in exclusion projection", at: loc)
        }
        let mode: Mode
        if sawInclusion || sawComputed || sawElemMatch {
            mode = .inclusion
        } else if sawExclusion {
            mode = .exclusion
        } else if case .include? = root["_id"] {
            mode = .inclusion
        } else if case .exclude? = root["_id"] {
            mode = .exclusion
        } else {
            mode = .exclusion  // only $slice (find) or empty find projection
        }
        if mode == .exclusion {
            // an explicit _id: 1 in an exclusion projection is a no-op
            root.fields.removeAll { $0.0 == "_id" && $0.1 == .include }
        }
        return Projection(mode: mode, root: root, isFind: find)
    }

    static func parseSlice(_ v: BSON, at l: Location) throws -> Entry {
        switch v {
        case let n where n.isNumber:
            guard let x = n.exactInt ?? Numeric.coerceToLong(n) else { throw StrataError.badInput("$slice only supports numbers and [skip, limit] arrays", at: l) }
            return .slice(skip: nil, limit: Int(clamping: x))
        case .array(let a):
            guard a.count == 2, a[0].isNumber, a[1].isNumber,
                  let s = Numeric.coerceToLong(a[0]), let n = Numeric.coerceToLong(a[1]) else {
                throw StrataError.badInput("$slice array wrong size", at: l)
            }
            if n <= 0 { throw StrataError.badInput("$slice limit must be positive", at: l) }
            return .slice(skip: Int(clamping: s), limit: Int(clamping: n))
        default:
            throw StrataError.badInput("$slice only supports numbers and [skip, limit] arrays", at: l)
        }
    }

    static func addFieldsInto(_ root: inout Node, _ spec: Document, prefix: [String], at loc: Location) throws {
        if spec.isEmpty && prefix.isEmpty {
            throw StrataError.badInput("Invalid $addFields :: caused by :: specification must have at least one field", at: loc)
        }
        for (k, v) in spec {
            let kl = loc.appending(k)
            if !prefix.isEmpty && k.contains(".") {
                throw StrataError.badInput("Invalid $addFields :: caused by :: dotted field names are not allowed in a nested specification ('\(k)')", at: kl)
            }
            let path = prefix + (try splitPath(k, at: kl))
            let full = path.joined(separator: ".")
            if case .document(let sub) = v, let first = sub.fields.first?.key, !first.hasPrefix("$") {
                try addFieldsInto(&root, sub, prefix: path, at: kl)
            } else {
                try insert(&root, path[...], .computed(try Expr.parse(v, at: kl)), full: full, at: kl)
            }
        }
    }
}

// MARK: - serialization

extension Projection {
    /// The specification as the server accepts it (the `$project`/`$addFields` argument, a
    /// find projection, or for `$unset`-style exclusions `{path: 0...}`).
    package var bson: Document { Projection.serialize(root) }

    static func serialize(_ n: Node) -> Document {
        var d = Document()
        for (k, e) in n.fields {
            switch e {
            case .include: d.append(k, .bool(true))
            case .exclude: d.append(k, .bool(false))
            case .computed(let x):
                // numbers and booleans would read as inclusion flags
                switch x {
                case .literal(let v) where v.isNumber || v.boolValue != nil: d.append(k, ["$literal": v])
                case .literal(.document(let dv)) where dv.isEmpty: d.append(k, ["$literal": .document(dv)])
                default: d.append(k, x.bson)
                }
            case .nested(let c): d.append(k, .document(serialize(c)))
            case .slice(let s, let l):
                d.append(k, ["$slice": s.map { [.int64(Int64($0)), .int64(Int64(l))] } ?? .int64(Int64(l))])
            case .elemMatch(let q): d.append(k, ["$elemMatch": .document(q.bson)])
            }
        }
        return d
    }

    /// The `$unset` argument for an exclusion projection.
    package var unsetPaths: [String] {
        var out: [String] = []
        func walk(_ n: Node, _ prefix: String) {
            for (k, e) in n.fields {
                let p = prefix.isEmpty ? k : prefix + "." + k
                switch e {
                case .exclude: out.append(p)
                case .nested(let c): walk(c, p)
                default: break
                }
            }
        }
        walk(root, "")
        return out
    }
}

// MARK: - application

extension Projection {
    /// Applies the projection to a document.
    package func apply(to doc: Document, variables: Variables = Variables()) throws -> Document {
        let ctx = EvalContext(root: doc, variables: variables)
        return try apply(to: doc, ctx)
    }

    func apply(to doc: Document, _ ctx: EvalContext) throws -> Document {
        switch mode {
        case .exclusion:
            return try exclude(root, doc)
        case .addFields:
            var out = doc
            try applyExpressions(root, &out, ctx)
            return out
        case .inclusion:
            var out = try includeFields(root, doc, top: true)
            if root.hasComputed { try applyExpressions(root, &out, ctx) }
            return out
        }
    }

    // exclusion

    func exclude(_ node: Node, _ doc: Document) throws -> Document {
        var out = doc
        for (k, e) in node.fields {
            switch e {
            case .exclude: out[k] = nil
            case .nested(let c):
                if let v = out[k] { out[k] = try excludeValue(c, v) }
            case .slice(let s, let l):
                if case .array(let items)? = out[k] { out[k] = .array(Projection.slice(items, s, l)) }
            default: break
            }
        }
        return out
    }

    func excludeValue(_ node: Node, _ v: BSON) throws -> BSON {
        switch v {
        case .document(let d): return .document(try exclude(node, d))
        case .array(let items):
            return .array(try items.map { x in
                if case .array = x, isFind { return x }
                return try excludeValue(node, x)
            })
        default: return v
        }
    }

    // inclusion: first pass (projections, in input order)

    func includeFields(_ node: Node, _ doc: Document, top: Bool) throws -> Document {
        var out = Document()
        let implicitId = top && node["_id"] == nil
        for (k, v) in doc {
            if implicitId && k == "_id" { out.append(k, v); continue }
            guard let e = node[k] else { continue }
            switch e {
            case .include: out.append(k, v)
            case .nested(let c):
                if let pv = try includeValue(c, v) { out.append(k, pv) }
            case .slice(let s, let l):
                if case .array(let items) = v { out.append(k, .array(Projection.slice(items, s, l))) } else { out.append(k, v) }
            case .elemMatch(let q):
                if case .array(let items) = v {
                    for x in items {
                        if case .document(let xd) = x, try q.matches(xd) { out.append(k, .array([x])); break }
                    }
                }
            case .exclude, .computed: continue
            }
        }
        return out
    }

    /// A nested inclusion applied to a value; nil = dropped.
    func includeValue(_ node: Node, _ v: BSON) throws -> BSON? {
        switch v {
        case .document(let d): return .document(try includeFields(node, d, top: false))
        case .array(let items):
            var out: [BSON] = []
            for x in items {
                if case .array = x, isFind {
                    if node.hasComputed { out.append(Projection.droppedMarker) }
                    continue
                }
                if let p = try includeValue(node, x) { out.append(p) } else if node.hasComputed { out.append(Projection.droppedMarker) }
            }
            return .array(out)
        default:
            return nil
        }
    }

    // computed fields (second pass for inclusion; the whole of $addFields)

    func applyExpressions(_ node: Node, _ out: inout Document, _ ctx: EvalContext) throws {
        for (k, e) in node.fields {
            switch e {
            case .computed(let x):
                out[k] = try ctx.eval(x)
            case .nested(let c) where c.hasComputed:
                out[k] = try expressionsOnValue(c, out[k], ctx)
            default: continue
            }
        }
    }

    func expressionsOnValue(_ node: Node, _ v: BSON?, _ ctx: EvalContext) throws -> BSON? {
        switch v {
        case .document(var d)?:
            try applyExpressions(node, &d, ctx)
            return .document(d)
        case .array(let items)?:
            var out: [BSON] = []
            for x in items {
                // an element dropped by the inclusion pass: mongod keeps a missing placeholder
                // that becomes a document of the computed fields
                let input: BSON? = x == Projection.droppedMarker ? nil : x
                if let r = try expressionsOnValue(node, input, ctx) { out.append(r) }
            }
            return .array(out)
        default:
            var d = Document()
            try applyExpressions(node, &d, ctx)
            return .document(d)
        }
    }

    /// A value no real document holds (BSON keys cannot contain NUL).
    static let droppedMarker: BSON = .document(["\u{0}dropped": .null])

    static func slice(_ items: [BSON], _ skip: Int?, _ limit: Int) -> [BSON] {
        let n = items.count
        if let skip {
            let start = skip < 0 ? max(0, n + skip) : min(n, skip)
            return Array(items[start..<min(n, start + limit)])
        }
        if limit >= 0 { return Array(items.prefix(limit)) }
        return Array(items.suffix(min(n, -limit)))
    }
}
