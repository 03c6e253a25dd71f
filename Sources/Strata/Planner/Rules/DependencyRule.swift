import StrataBSON
import StrataEvaluator

/// Which top-level fields of its input a list of stages reads (MongoDB's
/// DepsTracker): a branch that materialises only those fields of the newest
/// schema gives the stages exactly the documents a fully migrated collection
/// would, restricted to what they look at.
enum Dependencies: Equatable {
    /// Only these top-level fields (plus `_id`).
    case fields(Set<String>)
    /// The whole document (its output is the document, or it reads `$$ROOT`).
    case all

    /// What `stages` read of their input, from their parse (the pipeline is not parsed again).
    static func of(_ stages: [Stage]) -> Dependencies {
        var deps = Tracker()
        for stage in stages {
            switch deps.visit(stage) {
            case .next: continue
            case .done: return .fields(deps.needed)
            case .whole: return .all
            }
        }
        // The documents themselves flow out.
        return .all
    }

    /// The fields needed so far, and those earlier stages produce (they satisfy later reads).
    struct Tracker {
        var needed = Set<String>()
        var produced = Set<String>()

        /// After a stage: read on, the stage's output no longer carries its input's fields, or
        /// the stage needs the whole document.
        enum Outcome { case next, done, whole }

        mutating func need(_ paths: some Sequence<[String]>) {
            for p in paths { if let f = p.first, !produced.contains(f) { needed.insert(f) } }
        }

        /// False when the expression reads the whole document.
        mutating func need(_ e: Expr) -> Bool {
            if e.usesRoot { return false }
            need(e.fieldPaths)
            return true
        }

        /// An accumulator reads its argument, its `n` and its `sortBy` paths.
        mutating func need(_ a: AccumulatorSpec) -> Bool {
            guard need(a.argument) else { return false }
            if let n = a.n, !need(n) { return false }
            if let s = a.sortBy { need(s.components.map(\.path)) }
            return true
        }

        mutating func need(_ accumulators: [(String, AccumulatorSpec)]) -> Bool {
            accumulators.allSatisfy { need($0.1) }
        }

        mutating func visit(_ stage: Stage) -> Outcome {
            switch stage {
            case .match(let q):
                return Dependencies.need(query: q, &needed, produced) ? .next : .whole
            case .sort(let p):
                need(p.components.map(\.path))
                return .next
            case .limit, .skip, .unset, .sample:
                return .next
            case .addFields(let p, _):
                return addFields(p) ? .next : .whole
            case .unwind(let u):
                need([Query.components(u.path)])
                return .next
            case .project(let p):
                guard p.mode == .inclusion else { return .next }
                return project(p.root) ? .done : .whole
            case .replaceRoot(let e, _):
                return need(e) ? .done : .whole
            case .group(let g):
                return need(g.id) && need(g.accumulators) ? .done : .whole
            case .count:
                return .done
            case .sortByCount(let e):
                return need(e) ? .done : .whole
            case .bucket(let b):
                return need(b.groupBy) && need(b.output ?? []) ? .done : .whole
            case .bucketAuto(let b):
                return need(b.groupBy) && need(b.output ?? []) ? .done : .whole
            case .lookup(let l):
                if let lf = l.localField { need([Query.components(lf)]) }
                for (_, e) in l.letVariables { guard need(e) else { return .whole } }
                if let f = Query.components(l.as).first, !l.as.contains(".") { produced.insert(f) }
                return .next
            case .facet(let f):
                for (_, pipeline) in f.pipelines {
                    guard case .fields(let fs) = Dependencies.of(pipeline.stages) else { return .whole }
                    for x in fs where !produced.contains(x) { needed.insert(x) }
                }
                return .done
            default:
                return .whole
            }
        }

        /// `$addFields`/`$set`: each computed value reads what its expression reads; a value
        /// set inside a field (a dotted name, or an object merged into a sub-document, as
        /// mongod does) also reads that field. A top-level field set whole is produced.
        mutating func addFields(_ p: Projection) -> Bool {
            for (name, entry) in p.root.fields {
                switch entry {
                case .computed(let e):
                    guard need(e) else { return false }
                    if case .object = e { need([[name]]) }
                case .nested(let node):
                    guard needComputed(in: node) else { return false }
                    need([[name]])
                default:
                    return false
                }
            }
            for (name, entry) in p.root.fields {
                if case .computed = entry { produced.insert(name) }
            }
            return true
        }

        /// An inclusion `$project`: included fields (`_id` too: `{_id: 1}` keeps only `_id`)
        /// and sub-documents are read whole; a computed field reads what its expression reads,
        /// not the field itself. A sub-document that only excludes keeps everything else.
        mutating func project(_ root: Projection.Node) -> Bool {
            for (name, entry) in root.fields {
                switch entry {
                case .exclude:
                    continue
                case .include:
                    need([[name]])
                case .computed(let e):
                    guard need(e) else { return false }
                case .nested(let node):
                    if Self.onlyExcludes(node) { continue }
                    need([[name]])
                    guard needComputed(in: node) else { return false }
                case .slice, .elemMatch:
                    return false
                }
            }
            return true
        }

        /// What the computed values inside a sub-document read.
        mutating func needComputed(in node: Projection.Node) -> Bool {
            for (_, entry) in node.fields {
                switch entry {
                case .computed(let e): guard need(e) else { return false }
                case .nested(let n): guard needComputed(in: n) else { return false }
                default: continue
                }
            }
            return true
        }

        static func onlyExcludes(_ node: Projection.Node) -> Bool {
            node.fields.allSatisfy {
                switch $0.1 {
                case .exclude: return true
                case .nested(let n): return onlyExcludes(n)
                default: return false
                }
            }
        }
    }

    static func need(query q: Query, _ needed: inout Set<String>, _ produced: Set<String>) -> Bool {
        switch q {
        case .and(let qs), .or(let qs), .nor(let qs):
            return qs.allSatisfy { need(query: $0, &needed, produced) }
        case .field(let p, _):
            if let f = Query.components(p).first, !produced.contains(f) { needed.insert(f) }
            return true
        case .expr(let e):
            if e.usesRoot { return false }
            for p in e.fieldPaths { if let f = p.first, !produced.contains(f) { needed.insert(f) } }
            return true
        case .alwaysTrue, .alwaysFalse:
            return true
        }
    }
}
