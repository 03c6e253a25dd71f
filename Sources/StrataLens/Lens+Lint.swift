import StrataEvaluator

/// Mistakes a lens can be told from, at load (exit 2 with the file and the JSON
/// path): errors where the lens cannot be right, warnings (`Lens.warnings`) where
/// it may be.
///
/// Errors:
/// - an operation that writes, moves or removes the version field (each step sets it);
/// - a `$$variable` in an expression that nothing defines (`$$value` is the old value);
/// - `"$value"` in a `convert` expression that never reads `"$$value"` (the slip for the
///   old value; write `"$$ROOT.value"` for a field really named `value`);
/// - reading a field an earlier operation of the same step removed or moved away;
/// - writing a target an earlier operation created, without `"overwrite": true`
///   (every document that came through that operation would be refused);
/// - an index declared on a path the lens removes and never writes again.
/// Warnings:
/// - reading a field an earlier step removed (a document stored at a later version may
///   still have it).
struct LensLint {
    let lens: Lens
    var warnings: [StrataError] = []

    static let knownVariables: Set<String> = ["value"]

    mutating func run() throws {
        var goneBefore: [[String]: Location] = [:]
        var scope = LintScope(name: "step", of: "")
        for step in lens.steps {
            for (p, l) in scope.gone { goneBefore[p] = l }
            scope.gone = [:]
            for op in step.operations {
                try checkVersionField(op)
                try checkExpressions(op)
                if let scoped = op as? ScopedOperation { try checkInside(scoped) }
                try scope.check(op)
                for read in op.reads {
                    if let (_, l) = goneBefore.first(where: { DocumentPaths.isWithin(read, $0.key) }) {
                        warnings.append(StrataError(.badInput,
                            "warning: \(op.name) reads '\(DocumentPaths.join(read))', which \(l.path) removed in an earlier step (only documents stored at a later version can have it)",
                            at: op.location))
                    }
                }
                scope.record(op)
                for w in op.writes {
                    goneBefore = goneBefore.filter { !DocumentPaths.isWithin($0.key, w) && !DocumentPaths.isWithin(w, $0.key) }
                }
            }
        }
        for (p, l) in scope.gone { goneBefore[p] = l }
        for (i, index) in lens.indexes.enumerated() {
            for (key, _) in index.keys {
                let path = DocumentPaths.split(key)
                if let (_, l) = goneBefore.first(where: { DocumentPaths.isWithin(path, $0.key) }) {
                    throw StrataError.badInput(
                        "the index is on '\(key)', which the newest schema does not have (\(l.path) removes it); indexes are declared on the newest schema",
                        at: Location(file: lens.source, path: "indexes[\(i)].key").appending(key))
                }
            }
        }
    }

    /// The operations of a `map`/`in`, over the element: expressions, and reads of what an
    /// earlier inner operation removed, and unannounced overwrites, as for a step.
    func checkInside(_ scoped: ScopedOperation) throws {
        var scope = LintScope(name: scoped.name, of: " of each element")
        for op in scoped.operations {
            try checkExpressions(op)
            if let inner = op as? ScopedOperation { try checkInside(inner) }
            try scope.check(op)
            scope.record(op)
        }
    }

    func checkVersionField(_ op: any LensOperation) throws {
        let v = [lens.versionField]
        for p in op.removes + op.writes where DocumentPaths.isWithin(p, v) || DocumentPaths.isWithin(v, p) {
            throw StrataError.badInput(
                "\(op.name) changes the version field '\(lens.versionField)': each step sets it to its 'to' (rename the data, not the version)",
                at: op.location)
        }
    }

    func checkExpressions(_ op: any LensOperation) throws {
        guard let c = op as? ConvertOperation else { return }
        for (key, e) in [("expr", c.expr), ("inverse", c.inverse)] {
            guard let e else { continue }
            let free = e.freeVariables.subtracting(Self.knownVariables)
            if let name = free.sorted().first {
                throw StrataError.badInput(
                    "'$$\(name)' is not defined here (the old value is '$$value'; $let, $map, $filter and $reduce define others)",
                    at: c.location.appending(key))
            }
            if !e.freeVariables.contains("value") {
                var paths: [[String]] = []
                _ = e.rewritingFieldPaths { p, base in
                    if base == .current { paths.append(p) }
                    return .fieldPath(p)
                }
                if let p = paths.first(where: { $0.first == "value" }) {
                    throw StrataError.badInput(
                        "'$\(DocumentPaths.join(p))' reads a field named 'value', and the expression never reads the "
                            + (key == "expr" ? "old" : "new") + " value: did you mean '$$\(DocumentPaths.join(p))'? (write '$$ROOT.\(DocumentPaths.join(p))' for a field named value)",
                        at: c.location.appending(key))
                }
            }
        }
    }
}

/// What the operations of one scope (a step, or the inside of a `map`/`in`) removed and
/// wrote so far, and the two errors that follow from it.
struct LintScope {
    var gone: [[String]: Location] = [:]
    var created: [[String]: Location] = [:]
    /// "step", "map", "in"
    let name: String
    /// How a path is said: "" or " of each element".
    let of: String

    init(name: String, of: String) {
        self.name = name
        self.of = of
    }

    /// Reading what an earlier operation removed; writing, without `overwrite`, what one wrote.
    func check(_ op: any LensOperation) throws {
        for read in op.reads {
            if let (_, l) = gone.first(where: { DocumentPaths.isWithin(read, $0.key) }) {
                throw StrataError.badInput(
                    "\(op.name) reads '\(DocumentPaths.join(read))'\(of), which \(l.path) removed earlier in this \(name): it cannot exist here",
                    at: op.location)
            }
        }
        for g in op.guards {
            guard case .present(let target) = g.condition,
                  let (_, l) = created.first(where: { DocumentPaths.isWithin(target, $0.key) }) else { continue }
            throw StrataError.badInput(
                "\(op.name) writes '\(DocumentPaths.join(target))'\(of), which \(l.path) already wrote: every \(of.isEmpty ? "document" : "element") upgraded through it would be refused. Say \"overwrite\": true if the old value is to be discarded",
                at: op.location)
        }
    }

    mutating func record(_ op: any LensOperation) {
        for r in op.removes {
            gone[r] = op.location
            created = created.filter { !DocumentPaths.isWithin($0.key, r) }
        }
        for w in op.writes {
            gone = gone.filter { !DocumentPaths.isWithin($0.key, w) && !DocumentPaths.isWithin(w, $0.key) }
            created[w] = op.location
        }
    }
}

extension Lens {
    /// Lints the lens (see `LensLint`): throws the first error; returns the warnings.
    func lint() throws -> [StrataError] {
        var l = LensLint(lens: self)
        try l.run()
        return l.warnings
    }
}
