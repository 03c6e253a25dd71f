import StrataBSON

/// What a pipeline ending in `$out` or `$merge` wrote (`VersionedCollection.write`).
///
/// The counts are strata's own, since the server's `aggregate` reports none. For `$out`
/// they are exact (every result is inserted into the collection that replaces the
/// target). For `$merge` each result is classified in order: it *matches* when a target
/// document with its `on` values existed before the write began (looked up per batch of
/// results, before anything is written) or was inserted by an earlier result of the same
/// run; a target written by someone else meanwhile can make them differ from what the
/// server did. Into a versioned target with `whenMatched: merge` or a pipeline, where
/// strata writes document by document, they are exactly what it did.
public struct WriteSummary: Sendable {
    public var stage: OutputStage.Kind
    public var database: String
    public var collection: String
    /// The results of the pipeline (written, kept out or discarded).
    public var documents = 0
    /// Results inserted as new documents.
    public var inserted = 0
    /// `$merge`: results whose `on` values matched a target document.
    public var matched = 0
    /// `$merge`: matched documents replaced (`whenMatched: replace`).
    public var replaced = 0
    /// `$merge`: matched documents updated (`whenMatched: merge` or a pipeline).
    public var updated = 0
    /// `$merge`: matched documents left as they were (`whenMatched: keepExisting`).
    public var kept = 0
    /// `$merge`: results matching nothing and not inserted (`whenNotMatched: discard`).
    public var discarded = 0
    /// `$out`: the documents of the collection it replaced (nil: there was none).
    public var previousDocuments: Int?
    /// The version stamped on written documents, when the target has a lens of its own.
    public var version: Int?
    /// Guarded writes into a versioned target that found the document changed since it was
    /// read, and were done again on the new document.
    public var retries = 0
    /// What the read part of the pipeline did.
    public var statistics = QueryRunner.Statistics()

    public init(stage: OutputStage.Kind, database: String, collection: String) {
        self.stage = stage
        self.database = database
        self.collection = collection
    }

    /// `db.coll`.
    public var namespace: String { database + "." + collection }

    /// The summary `strata run` prints (README: *Writing results*):
    /// `{"wrote", "stage", "documents", "inserted", ...}` — for `$out` then
    /// `"previousDocuments"` (null when no collection was replaced); for `$merge`
    /// `"matched", "replaced", "updated", "kept", "discarded"`; with a versioned target
    /// `"version"` and `"retries"`.
    public var json: Document {
        var d: Document = ["wrote": .string(namespace), "stage": .string(stage.rawValue),
                           "documents": .int64(Int64(documents)), "inserted": .int64(Int64(inserted))]
        switch stage {
        case .out:
            d["previousDocuments"] = previousDocuments.map { .int64(Int64($0)) } ?? .null
        case .merge:
            for (k, v) in [("matched", matched), ("replaced", replaced), ("updated", updated), ("kept", kept), ("discarded", discarded)] {
                d[k] = .int64(Int64(v))
            }
        }
        if let version {
            d["version"] = .int64(Int64(version))
            d["retries"] = .int64(Int64(retries))
        }
        return d
    }
}
