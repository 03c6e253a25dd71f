import StrataBSON
import StrataEvaluator

extension Lens {
    /// One aggregation pipeline that upgrades every stored document, whatever its
    /// version, to the newest — what a MongoDB view over the mixed collection would
    /// run before the user's pipeline (and the alternative the benchmark calls
    /// "upgrading").
    ///
    /// For each step k → k+1, in order, each operation's server stages
    /// (`serverUpgradeStages`) are made conditional on the document's *current*
    /// version being k (the version field; absent or null means `absentMeans`), so a
    /// document already past k passes through unchanged:
    /// - `$set: {p: e}` becomes `$set: {p: {$cond: [atK, e, "$p"]}}` (one `$set` keeps
    ///   its fields together: every expression still reads the stage's input);
    /// - `$unset: p` becomes `$set: {p: {$cond: [atK, "$$REMOVE", "$p"]}}`;
    /// - `$lookup` runs unconditionally (its `as` field is temporary); the `$set` that
    ///   reads it is conditional as above, and the `$unset` of the temporary field stays
    ///   unconditional;
    /// - the version stamp is a conditional `$set` like any other, last in its step,
    ///   so the next step sees k+1.
    ///
    /// `nil` when an operation has no server stages (an application-defined Swift
    /// function), or uses a stage this rewriting does not know.
    ///
    /// Limits, as for any such view: every document goes through every stage (no index
    /// on a migrated field can serve a later `$match`); and for a dotted target
    /// (`reading.tempC`) the "unchanged" branch writes `"$reading.tempC"` back, which
    /// differs from leaving it alone where the path crosses an array (mongod then
    /// evaluates to the array of values) or, on mongod, where the parent is missing
    /// (`$addFields` may create it empty). The shipped lenses' dotted targets sit in
    /// sub-documents every version has.
    public func upgradingViewStages() -> [BSON]? {
        var pipeline: [BSON] = []
        for step in steps {
            let atVersion = versionExpression(step.from).bson
            for op in step.allOperations(versionField: versionField, absentMeans: absentMeans) {
                guard let stages = op.serverStages,
                      let conditional = Self.conditionalStages(stages, when: atVersion) else { return nil }
                pipeline += conditional
            }
        }
        return pipeline
    }

    /// One operation's stages made conditional on `condition`; nil for a stage kind it
    /// cannot make conditional.
    static func conditionalStages(_ stages: [BSON], when condition: BSON) -> [BSON]? {
        var out: [BSON] = []
        var temporary = Set<String>()  // `as` fields of this operation's unconditional $lookups
        func keepOrSet(_ path: String, _ value: BSON) -> BSON {
            ["$cond": [condition, value, .string("$" + path)]]
        }
        for stage in stages {
            guard let (name, spec) = stage.singleField else {
                return nil
            }
            switch name {
            case "$set", "$addFields":
                guard case .document(let fields) = spec else { return nil }
                var set = Document()
                for (path, value) in fields {
                    set.append(path, temporary.contains(path) ? value : keepOrSet(path, value))
                }
                out.append(["$set": .document(set)])
            case "$unset":
                let paths: [String]
                switch spec {
                case .string(let p): paths = [p]
                case .array(let items):
                    var ps: [String] = []
                    for item in items {
                        guard case .string(let p) = item else { return nil }
                        ps.append(p)
                    }
                    paths = ps
                default: return nil
                }
                let plain = paths.filter { temporary.contains($0) }
                let guarded = paths.filter { !temporary.contains($0) }
                if !guarded.isEmpty {
                    out.append(["$set": .document(Document(guarded.map { ($0, keepOrSet($0, "$$REMOVE")) }))])
                }
                if !plain.isEmpty {
                    out.append(["$unset": plain.count == 1 ? .string(plain[0]) : .array(plain.map { .string($0) })])
                }
            case "$lookup":
                guard case .document(let l) = spec, case .string(let output)? = l["as"] else { return nil }
                temporary.insert(output)
                out.append(stage)
            default:
                return nil
            }
        }
        return out
    }
}
