import StrataEvaluator

/// `{"op": "nest", "into": "name", "fields": {"name": "first", "lastName": "last"}}`
/// — fields of the older document move into one sub-document, under new keys,
/// in the order listed. Fields that are missing are left out; when none is
/// present the sub-document is `{}` (what the server's `{first: "$name", ...}` gives).
public struct NestOperation: LensOperation {
    public let into: [String]
    /// (older path, key in the sub-document), in order.
    public let fields: [(from: [String], key: String)]
    public let location: Location
    public var name: String { "nest" }

    static func parse(_ r: ArgumentReader) throws -> any LensOperation {
        try r.allowOnly(["op", "into", "fields", "description"])
        let into = DocumentPaths.split(try r.requiredPath("into"))
        let spec = try r.requiredDocument("fields")
        if spec.isEmpty { throw StrataError.badInput("nest needs at least one field", at: r.location.appending("fields")) }
        var fields: [(from: [String], key: String)] = []
        for (old, v) in spec {
            try r.checkPath(old, key: "fields")
            guard case .string(let key) = v, !key.isEmpty, !key.contains("."), !key.hasPrefix("$") else {
                throw StrataError.badInput("each field maps to a key of the new sub-document (a plain name)",
                                           at: r.location.appending("fields").appending(old))
            }
            let from = DocumentPaths.split(old)
            if from != into && (DocumentPaths.isWithin(from, into) || DocumentPaths.isWithin(into, from)) {
                throw StrataError.badInput("'\(old)' overlaps 'into'", at: r.location.appending("fields").appending(old))
            }
            fields.append((from, key))
        }
        if Set(fields.map(\.key)).count != fields.count {
            throw StrataError.badInput("two fields map to the same key", at: r.location.appending("fields"))
        }
        return NestOperation(into: into, fields: fields, location: r.location)
    }

    public func upgrade(_ doc: inout Document, context: LensContext) throws {
        var sub = Document()
        var position: Int?
        for (from, key) in fields {
            if let t = DocumentPaths.take(&doc, from) {
                sub.append(key, t.value)
                if position == nil && DocumentPaths.parent(from) == DocumentPaths.parent(into) { position = t.index }
            }
        }
        DocumentPaths.put(&doc, into, nil)
        DocumentPaths.put(&doc, into, .document(sub), at: position)
    }

    var objectExpression: Expr { .object(fields.map { ($0.key, .fieldPath($0.from)) }) }

    public var serverStages: [BSON]? {
        var stages: [BSON] = [["$set": .document(Document([(DocumentPaths.join(into), objectExpression.bson)]))]]
        let removed = fields.map(\.from).filter { $0 != into }
        if !removed.isEmpty { stages.append(["$unset": .array(removed.map { .string(DocumentPaths.join($0)) })]) }
        return stages
    }

    public func source(of path: [String]) -> PathSource {
        if path == into { return .computed(objectExpression) }
        if DocumentPaths.isWithin(path, into) {
            let key = path[into.count]
            guard let f = fields.first(where: { $0.key == key }) else { return .missing }
            return .path(f.from + path.dropFirst(into.count + 1))
        }
        for (from, _) in fields where DocumentPaths.isWithin(path, from) { return .missing }
        if DocumentPaths.isWithin(into, path) || fields.contains(where: { DocumentPaths.isWithin($0.from, path) }) {
            return .untranslatable("the whole of '\(DocumentPaths.join(path))' changes shape in \(name) at \(location)")
        }
        return .path(path)
    }

    public var invertibility: Invertibility { .exact }

    public func downgrade(_ doc: inout Document, context: LensContext) throws {
        guard let t = DocumentPaths.take(&doc, into) else { return }
        guard case .document(let sub) = t.value else {
            throw failure("cannot undo: '\(DocumentPaths.join(into))' is \(t.value.typeName), not an object")
        }
        var index = t.index
        for (from, key) in fields {
            guard let v = sub[key] else { continue }
            let sameParent = DocumentPaths.parent(from) == DocumentPaths.parent(into)
            DocumentPaths.put(&doc, from, v, at: sameParent ? index : nil)
            if sameParent { index += 1 }
        }
    }

    public var reads: [[String]] { fields.map(\.from) }
}

/// `{"op": "unnest", "from": "name", "fields": {"first": "name", "last": "lastName"}}`
/// — the reverse of nest: keys of a sub-document become fields of the document.
/// Keys not listed are dropped (declared lossy).
public struct UnnestOperation: LensOperation {
    public let from: [String]
    public let fields: [(key: String, to: [String])]
    public let location: Location
    public var name: String { "unnest" }

    static func parse(_ r: ArgumentReader) throws -> any LensOperation {
        try r.allowOnly(["op", "from", "fields", "description"])
        let from = DocumentPaths.split(try r.requiredPath("from"))
        let spec = try r.requiredDocument("fields")
        if spec.isEmpty { throw StrataError.badInput("unnest needs at least one field", at: r.location.appending("fields")) }
        var fields: [(key: String, to: [String])] = []
        for (key, v) in spec {
            guard case .string(let to) = v else {
                throw StrataError.badInput("each key maps to a field path (a string)", at: r.location.appending("fields").appending(key))
            }
            try r.checkPath(to, key: "fields.\(key)")
            fields.append((key, DocumentPaths.split(to)))
        }
        if Set(fields.map { DocumentPaths.join($0.to) }).count != fields.count {
            throw StrataError.badInput("two keys map to the same field", at: r.location.appending("fields"))
        }
        return UnnestOperation(from: from, fields: fields, location: r.location)
    }

    public func upgrade(_ doc: inout Document, context: LensContext) throws {
        guard let t = DocumentPaths.take(&doc, from) else {
            for (_, to) in fields { DocumentPaths.put(&doc, to, nil) }
            return
        }
        guard case .document(let sub) = t.value else {
            throw failure("'\(DocumentPaths.join(from))' is \(t.value.typeName), not an object")
        }
        var index = t.index
        for (key, to) in fields {
            DocumentPaths.put(&doc, to, nil)
            guard let v = sub[key] else { continue }
            let sameParent = DocumentPaths.parent(from) == DocumentPaths.parent(to)
            DocumentPaths.put(&doc, to, v, at: sameParent ? index : nil)
            if sameParent { index += 1 }
        }
    }

    public var serverStages: [BSON]? {
        // Every expression of one $set reads the input document, so a target that
        // reuses the name of `from` still reads the old sub-document.
        let set: [(String, BSON)] = fields.map { (DocumentPaths.join($0.to), DocumentPaths.ref(from + [$0.key])) }
        var stages: [BSON] = [["$set": .document(Document(set))]]
        if !fields.contains(where: { $0.to == from }) { stages.append(["$unset": .string(DocumentPaths.join(from))]) }
        return stages
    }

    public func source(of path: [String]) -> PathSource {
        for (key, to) in fields where DocumentPaths.isWithin(path, to) {
            return .path(from + [key] + path.dropFirst(to.count))
        }
        if DocumentPaths.isWithin(path, from) { return .missing }
        if fields.contains(where: { DocumentPaths.isWithin($0.to, path) }) || DocumentPaths.isWithin(from, path) {
            return .untranslatable("the whole of '\(DocumentPaths.join(path))' changes shape in \(name) at \(location)")
        }
        return .path(path)
    }

    public var invertibility: Invertibility { .lossy("keys of '\(DocumentPaths.join(from))' that are not listed are dropped") }

    public func downgrade(_ doc: inout Document, context: LensContext) throws {
        var sub = Document()
        var position: Int?
        for (key, to) in fields {
            if let t = DocumentPaths.take(&doc, to) {
                sub.append(key, t.value)
                if position == nil && DocumentPaths.parent(to) == DocumentPaths.parent(from) { position = t.index }
            }
        }
        DocumentPaths.put(&doc, from, .document(sub), at: position)
    }

    public var reads: [[String]] { [from] }
}
