import StrataBSON
import StrataEvaluator

extension QueryPlan {
    /// A `$sample` (first, or after the leading `$match` stages) drawn uniformly over the
    /// logical collection (`PlannerPass.chooseSample`): the runner counts each branch's
    /// matching documents, splits `size` draws across the branches by a multivariate
    /// hypergeometric draw from the counts, chooses each branch's share uniformly among its
    /// matching documents, shuffles the union and runs `mergerStages` over it.
    public struct Sample: Sendable {
        /// One branch per known version; its fetch selects that version's matching
        /// documents (a superset where the version is in `sampledInSwift`).
        public let branches: [Branch]
        /// Versions whose fetch is a superset: Swift upgrades and filters every fetched
        /// document (the branch's `swiftStages`) and chooses among the `_id`s that match.
        public let sampledInSwift: Set<Int>
        /// How many documents to draw (all the matching ones when there are fewer).
        public let size: Int64
        /// Where the `$sample` stands (a facet's has its own place): with a seed, each
        /// place draws its own way (by its path in the pipeline, not the file's name).
        public let location: Location
        /// The stages after the `$sample`, run in Swift over the drawn documents.
        public let mergerStages: [PipelineStage]
    }
}

extension QueryPlan.Sample {
    /// Explain's merger part.
    var explainMerger: Document {
        var draw: Document = ["size": .int64(size)]
        draw["counts"] = "exact, per version, of the documents that match"
        draw["split"] = "a multivariate hypergeometric draw from the counts (conditional hypergeometric draws, version by version)"
        draw["withinVersion"] = "the server's $sample where the fetch selects exactly; else (and with a seed) a uniform choice among the matching _ids, in Swift"
        draw["order"] = "the drawn documents shuffled uniformly"
        return ["sample": .document(draw), "pipeline": .array(mergerStages.map(\.bson))]
    }
}
