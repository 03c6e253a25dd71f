import StrataBSON
import StrataMongo

/// Asks the server how it would run each branch of a plan, and summarises the
/// winning plan: its stages from the leaf up, and the indexes it scans.
struct ServerExplain {
    let collection: MongoCollection

    func annotate(_ plan: QueryPlan) throws -> Document {
        var doc = plan.explainDocument
        if case .facets(let f) = plan.strategy {
            var facets = Document()
            for (name, sub) in f.facets { facets.append(name, .document(try annotate(sub))) }
            doc["facets"] = .document(facets)
            return doc
        }
        var shards: [BSON] = []
        for (branch, explained) in zip(plan.branches, doc["shards"]?.arrayValue ?? []) {
            guard var b = explained.documentValue else { continue }
            switch branch.command {
            case .aggregate(let pipeline), .documents(let pipeline):
                b["serverPlan"] = .document(Self.summary(try collection.explainAggregate(pipeline)))
            case .none:
                break
            }
            shards.append(.document(b))
        }
        doc["shards"] = .array(shards)
        return doc
    }

    /// `{stages: ["IXSCAN", "FETCH"], indexes: ["v_1"]}` from an explain reply.
    static func summary(_ explain: Document) -> Document {
        var winning: Document?
        if let qp = explain["queryPlanner"]?.documentValue { winning = qp["winningPlan"]?.documentValue }
        if winning == nil, let stages = explain["stages"]?.arrayValue,
           let cursor = stages.first?.documentValue?["$cursor"]?.documentValue {
            winning = cursor["queryPlanner"]?.documentValue?["winningPlan"]?.documentValue
        }
        guard let winning else { return ["stages": [], "note": "no queryPlanner in the server's explain"] }
        var stages: [String] = []
        var indexes: [String] = []
        func walk(_ node: Document) {
            if let s = node["stage"]?.stringValue { stages.append(s) }
            if let i = node["indexName"]?.stringValue, !indexes.contains(i) { indexes.append(i) }
            if let input = node["inputStage"]?.documentValue { walk(input) }
            for child in node["inputStages"]?.arrayValue ?? [] { if let c = child.documentValue { walk(c) } }
            if let q = node["queryPlan"]?.documentValue { walk(q) }
        }
        walk(winning)
        return ["stages": .array(stages.reversed().map { .string($0) }), "indexes": .array(indexes.map { .string($0) })]
    }
}
