import StrataBSON

/// Computes, on the server, only the fields of the newest schema that the rest
/// of a branch reads: one `$project` whose every field is the lens's source
/// expression for it (preceded by the lookups some need). What follows then
/// runs unchanged, on documents that are exactly the upgraded ones restricted
/// to those fields.
enum MaterializeRule {
    /// The stages, or nil when some field has no server-side source (see `whyNot`).
    static func project(_ fields: Set<String>, in scope: VersionScope) -> [BSON]? {
        var lookups: [LookupPrerequisite] = []
        var spec: [(String, BSON)] = []
        for f in (fields.union(["_id"])).sorted(by: { a, b in a == "_id" ? true : b == "_id" ? false : a < b }) {
            let s = scope.source(of: [f])
            guard let e = s.expression else { return nil }
            for l in s.lookups where !lookups.contains(l) { lookups.append(l) }
            if e == .fieldPath([f]) {
                spec.append((f, .int32(1)))
            } else {
                spec.append((f, e.bson))
            }
        }
        return lookups.map(\.stage) + [["$project": .document(Document(spec))]]
    }

    /// Why `project` cannot be used, for explain.
    static func whyNot(_ deps: Dependencies, in scope: VersionScope) -> String {
        guard case .fields(let fields) = deps else {
            return "the stages read whole documents, so the lens's upgrade stages run first"
        }
        for f in fields.sorted() {
            switch scope.source(of: [f]).value {
            case .untranslatable(let why), .swiftOnly(let why): return why
            default: continue
            }
        }
        return "upgrade stages"
    }
}
