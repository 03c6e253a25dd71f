import StrataBSON
import StrataEvaluator

/// `{"op": "nest", "into": "name", "fields": {"name": "first", "lastName": "last"}}`
/// — fields of the older document move into one sub-document, under new keys,
/// in the order listed. Fields that are missing are left out; when none is
/// present the sub-document is `{}` (what the server's `{first: "$name", ...}` gives).
///
/// When `into` already holds a sub-document (and is not itself one of the fields),
/// the keys are merged into it: its other keys stay, and a document where a key
/// lists is already there is refused (whether or not the field is present). A document whose `into` holds
/// something else (a scalar, an array, null) is refused. `"overwrite": true`
/// says to replace whatever `into` held instead (discarding it; undo is lossy).
package struct NestOperation: LensOperation {
    package let into: [String]
    /// (older path, key in the sub-document), in order.
    package let fields: [(from: [String], key: String)]
    package var overwrite: Bool = false
    package let location: Location
    package var name: String { "nest" }

    static func parse(_ r: ArgumentReader) throws -> any LensOperation {
        try r.allowOnly(["op", "into", "fields", "overwrite", "description"])
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
        return NestOperation(into: into, fields: fields, overwrite: try r.optionalBool("overwrite") ?? false, location: r.location)
    }

    /// True when `into` is one of the nested fields: its old value moves inside, nothing is merged.
    var intoIsAField: Bool { fields.contains { $0.from == into } }
    /// True when an existing sub-document at `into` keeps its keys.
    var merges: Bool { !intoIsAField && !overwrite }

    package func upgrade(_ doc: inout Document, context: LensContext) throws {
        var sub = Document()
        var position: Int?
        for (from, key) in fields {
            if let t = DocumentPaths.take(&doc, from) {
                sub.append(key, t.value)
                if position == nil && DocumentPaths.parent(from) == DocumentPaths.parent(into) { position = t.index }
            }
        }
        if let existing = DocumentPaths.get(doc, into) {
            if merges, case .document(var merged) = existing {
                for (k, v) in sub { merged[k] = v }  // guards: no key of `existing` is replaced
                sub = merged
            }
            DocumentPaths.put(&doc, into, .document(sub))  // in place
        } else {
            DocumentPaths.put(&doc, into, .document(sub), at: position)
        }
    }

    var objectExpression: Expr { .object(fields.map { ($0.key, .fieldPath($0.from)) }) }

    package var serverStages: [BSON]? {
        let value: Expr = merges ? .op("$mergeObjects", .positional([.fieldPath(into), objectExpression])) : objectExpression
        var stages: [BSON] = guardStages + [["$set": .document(Document([(DocumentPaths.join(into), value.bson)]))]]
        let removed = fields.map(\.from).filter { $0 != into }
        if !removed.isEmpty { stages.append(["$unset": .array(removed.map { .string(DocumentPaths.join($0)) })]) }
        return stages
    }

    package var removes: [[String]] { fields.map(\.from) }
    package var writes: [[String]] { [into] + fields.map { into + [$0.key] } }
    package var guards: [LensGuard] {
        var extra: [LensGuard] = []
        if merges {
            extra.append(LensGuard(.presentNonDocument(into),
                                   "'\(DocumentPaths.join(into))' holds a value that is not a sub-document, which nesting would discard (say \"overwrite\": true to discard it)"))
            for (from, key) in fields {
                extra.append(LensGuard(.present(into + [key]),
                                       "'\(DocumentPaths.join(into + [key]))' already holds a value, where nesting puts '\(DocumentPaths.join(from))' (say \"overwrite\": true to discard it)"))
            }
        }
        return LensGuard.standard(reads: reads, removes: removes, writes: [into], extra: extra)
    }

    package func source(of path: [String]) -> PathSource {
        if path == into {
            return merges ? .computed(.op("$mergeObjects", .positional([.fieldPath(into), objectExpression]))) : .computed(objectExpression)
        }
        if DocumentPaths.isWithin(path, into) {
            let key = path[into.count]
            // Merging keeps the sub-document's other keys; a listed key it already has is refused (guards).
            guard let f = fields.first(where: { $0.key == key }) else { return merges ? .path(path) : .missing }
            return .path(f.from + path.dropFirst(into.count + 1))
        }
        for (from, _) in fields where DocumentPaths.isWithin(path, from) { return .missing }
        if DocumentPaths.isWithin(into, path) || fields.contains(where: { DocumentPaths.isWithin($0.from, path) }) {
            return .untranslatable("the whole of '\(DocumentPaths.join(path))' changes shape in \(name) at \(location)")
        }
        return .path(path)
    }

    package var invertibility: Invertibility {
        if overwrite && !intoIsAField { return .lossy("a value '\(DocumentPaths.join(into))' held before is discarded (overwrite)") }
        if merges { return .lossy("an empty sub-document '\(DocumentPaths.join(into))' held before is not told from none") }
        return .exact
    }

    package func downgrade(_ doc: inout Document, context: LensContext) throws {
        guard let t = DocumentPaths.take(&doc, into) else { return }
        guard case .document(var sub) = t.value else {
            throw failure("cannot undo: '\(DocumentPaths.join(into))' is \(t.value.typeName), not an object")
        }
        var index = t.index
        var taken: [(from: [String], value: BSON)] = []
        for (from, key) in fields {
            guard let v = sub[key] else { continue }
            sub.removeValue(forKey: key)
            taken.append((from, v))
        }
        if merges && !sub.isEmpty {
            // The keys the sub-document had before stay where it was.
            DocumentPaths.put(&doc, into, .document(sub), at: index)
            index += 1
        }
        for (from, v) in taken {
            let sameParent = DocumentPaths.parent(from) == DocumentPaths.parent(into)
            DocumentPaths.put(&doc, from, v, at: sameParent ? index : nil)
            if sameParent { index += 1 }
        }
    }

    package var reads: [[String]] { fields.map(\.from) }
}

/// `{"op": "unnest", "from": "name", "fields": {"first": "name", "last": "lastName"}}`
/// — the reverse of nest: keys of a sub-document become fields of the document.
/// Keys not listed stay in the sub-document (which is removed when nothing is
/// left), unless the lens says `"drop": true` (they are then discarded: undo is
/// lossy). A target that already holds a value is refused unless `"overwrite": true`;
/// a target that is `from` itself (or lies inside it) replaces the sub-document and
/// so needs `"drop": true`. A `from` that is present and not a sub-document is refused.
package struct UnnestOperation: LensOperation {
    package let from: [String]
    package let fields: [(key: String, to: [String])]
    package var drop: Bool = false
    package var overwrite: Bool = false
    package let location: Location
    package var name: String { "unnest" }

    static func parse(_ r: ArgumentReader) throws -> any LensOperation {
        try r.allowOnly(["op", "from", "fields", "drop", "overwrite", "description"])
        let from = DocumentPaths.split(try r.requiredPath("from"))
        let spec = try r.requiredDocument("fields")
        if spec.isEmpty { throw StrataError.badInput("unnest needs at least one field", at: r.location.appending("fields")) }
        let drop = try r.optionalBool("drop") ?? false
        var fields: [(key: String, to: [String])] = []
        for (key, v) in spec {
            guard case .string(let to) = v else {
                throw StrataError.badInput("each key maps to a field path (a string)", at: r.location.appending("fields").appending(key))
            }
            try r.checkPath(to, key: "fields.\(key)")
            let target = DocumentPaths.split(to)
            if target != from && DocumentPaths.isWithin(from, target) {
                throw StrataError.badInput("'\(to)' contains '\(DocumentPaths.join(from))': writing it would replace the sub-document being unnested",
                                           at: r.location.appending("fields").appending(key))
            }
            if DocumentPaths.isWithin(target, from) && !drop {
                throw StrataError.badInput(
                    "'\(to)' replaces the sub-document '\(DocumentPaths.join(from))', so the keys not listed would be lost: say \"drop\": true to discard them",
                    at: r.location.appending("fields").appending(key))
            }
            fields.append((key, target))
        }
        if Set(fields.map { DocumentPaths.join($0.to) }).count != fields.count {
            throw StrataError.badInput("two keys map to the same field", at: r.location.appending("fields"))
        }
        return UnnestOperation(from: from, fields: fields, drop: drop, overwrite: try r.optionalBool("overwrite") ?? false,
                               location: r.location)
    }

    var listedKeys: [String] { fields.map(\.key) }

    package func upgrade(_ doc: inout Document, context: LensContext) throws {
        guard let t = DocumentPaths.take(&doc, from) else {
            for (_, to) in fields { DocumentPaths.put(&doc, to, nil) }
            return
        }
        guard case .document(let sub) = t.value else {
            throw failure("'\(DocumentPaths.join(from))' is \(t.value.typeName), not an object")
        }
        var rest = sub
        for k in listedKeys { rest.removeValue(forKey: k) }
        var index = t.index
        if !drop && !rest.isEmpty {
            DocumentPaths.put(&doc, from, .document(rest), at: index)
            index += 1
        }
        for (key, to) in fields {
            DocumentPaths.put(&doc, to, nil)
            guard let v = sub[key] else { continue }
            let sameParent = DocumentPaths.parent(from) == DocumentPaths.parent(to)
            DocumentPaths.put(&doc, to, v, at: sameParent ? index : nil)
            if sameParent { index += 1 }
        }
    }

    /// The sub-document without the listed keys; missing when nothing is left.
    var restExpression: Expr {
        let rest: Expr = .op("$arrayToObject", .positional([.op("$filter", .named([
            ("input", .op("$objectToArray", .positional([.fieldPath(from)]))),
            ("cond", .op("$not", .positional([.op("$in", .positional([.variable("this", ["k"]), .literal(.array(listedKeys.map { .string($0) }))]))]))),
        ]))]))
        return .op("$let", .named([
            ("vars", .object([("rest", .op("$cond", .positional([
                .op("$eq", .positional([.op("$type", .positional([.fieldPath(from)])), .literal("object")])), rest, .literal(.document(Document())),
            ])))])),
            ("in", .op("$cond", .positional([
                .op("$eq", .positional([.variable("rest", []), .literal(.document(Document()))])), .variable("REMOVE", []), .variable("rest", []),
            ]))),
        ]))
    }

    package var serverStages: [BSON]? {
        // Every expression of one $set reads the input document, so a target that
        // reuses the name of `from` still reads the old sub-document.
        var set: [(String, BSON)] = fields.map { field in
            let ref: [String] = from + [field.key]
            return (DocumentPaths.join(field.to), overwrite ? Expr.missingOr(ref, .fieldPath(ref)).bson : DocumentPaths.ref(ref))
        }
        if !drop { set.append((DocumentPaths.join(from), restExpression.bson)) }
        var stages: [BSON] = guardStages + [["$set": .document(Document(set))]]
        if drop && !fields.contains(where: { $0.to == from }) { stages.append(["$unset": .string(DocumentPaths.join(from))]) }
        return stages
    }

    package var removes: [[String]] { [from] }
    package var writes: [[String]] { fields.map(\.to) + (drop ? [] : [from]) }
    package var guards: [LensGuard] {
        var extra = [LensGuard(.presentNonDocument(from), "'\(DocumentPaths.join(from))' holds a value that is not a sub-document")]
        if !overwrite {
            extra += fields.filter { !DocumentPaths.isWithin($0.to, from) }.map { LensGuard.overwrite($0.to) }
        }
        return LensGuard.standard(reads: reads, removes: removes, writes: fields.map(\.to), extra: extra)
    }

    package func source(of path: [String]) -> PathSource {
        for (key, to) in fields where DocumentPaths.isWithin(path, to) {
            return .path(from + [key] + path.dropFirst(to.count))
        }
        if !drop && DocumentPaths.isWithin(path, from) {
            if path.count > from.count {
                return listedKeys.contains(path[from.count]) ? .missing : .path(path)
            }
            return .computed(restExpression)
        }
        if DocumentPaths.isWithin(path, from) { return .missing }
        if fields.contains(where: { DocumentPaths.isWithin($0.to, path) }) || DocumentPaths.isWithin(from, path) {
            return .untranslatable("the whole of '\(DocumentPaths.join(path))' changes shape in \(name) at \(location)")
        }
        return .path(path)
    }

    package var invertibility: Invertibility {
        if drop { return .lossy("keys of '\(DocumentPaths.join(from))' that are not listed are dropped (drop: true)") }
        if overwrite { return .lossy("values the targets held before are discarded (overwrite)") }
        return .lossy("an empty sub-document '\(DocumentPaths.join(from))' is not told from none")
    }

    package func downgrade(_ doc: inout Document, context: LensContext) throws {
        var sub = Document()
        var position: Int?
        if !drop, let t = DocumentPaths.take(&doc, from) {
            guard case .document(let rest) = t.value else {
                throw failure("cannot undo: '\(DocumentPaths.join(from))' is \(t.value.typeName), not an object")
            }
            position = t.index
            for (key, to) in fields {
                if let v = DocumentPaths.take(&doc, to)?.value { sub.append(key, v) }
            }
            for (k, v) in rest { sub.append(k, v) }
            DocumentPaths.put(&doc, from, .document(sub), at: position)
            return
        }
        for (key, to) in fields {
            if let t = DocumentPaths.take(&doc, to) {
                sub.append(key, t.value)
                if position == nil && DocumentPaths.parent(to) == DocumentPaths.parent(from) { position = t.index }
            }
        }
        DocumentPaths.put(&doc, from, .document(sub), at: position)
    }

    package var reads: [[String]] { [from] }
}
