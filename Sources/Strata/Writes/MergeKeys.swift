import StrataBSON
import StrataEvaluator
import StrataMongo

/// The values of `$merge`'s `on` fields in one document, equal as the target's unique
/// index compares them (`1 == 1.0 == NumberLong(1)`, `GroupKey`).
struct MergeKey: Hashable {
    let values: [GroupKey]
}

/// Reading `on` values out of results and target documents, and finding which exist.
enum MergeKeys {
    /// mongod's refusal of a result whose `on` value it cannot match by.
    static let badOnValue = "$merge write error: 'on' field cannot be missing, null, undefined or an array"

    /// The `on` values of a result; nil when `on` includes `_id` and the result has none
    /// (mongod gives it a new ObjectId: it matches nothing). A value missing, null,
    /// undefined or an array (or under an array) is mongod's error.
    static func key(of doc: Document, on: [String]) throws -> MergeKey? {
        var values: [GroupKey] = []
        for field in on {
            let value = doc.value(atPath: field)
            if field == "_id" && value == nil { return nil }
            switch value {
            case nil, .null?, .undefined?, .array?:
                throw StrataError.evaluation(badOnValue + " (field '\(field)' of result \(idText(doc["_id"])))")
            case let v?:
                if underArray(doc, field) { throw StrataError.evaluation(badOnValue + " (field '\(field)')") }
                values.append(GroupKey(v))
            }
        }
        return MergeKey(values: values)
    }

    static func underArray(_ doc: Document, _ field: String) -> Bool {
        var current: BSON = .document(doc)
        for part in field.split(separator: ".").dropLast() {
            guard case .document(let d) = current, let next = d[String(part)] else { return false }
            if case .array = next { return true }
            current = next
        }
        return false
    }

    /// A filter matching the target documents whose `on` values are one of `keys`: `$in`
    /// for one field (unless a value is a regular expression, which `$in` would match as a
    /// pattern), else an `$or` of `$eq`s.
    static func filter(_ keys: [MergeKey], on: [String]) -> Document {
        let hasRegex = keys.contains { $0.values.contains { if case .regex? = $0.value { return true }; return false } }
        if on.count == 1 && !hasRegex {
            return [on[0]: ["$in": .array(keys.compactMap { $0.values[0].value })]]
        }
        return ["$or": .array(keys.map { key in
            .document(Document(zip(on, key.values).map { field, value in (field, BSON.document(["$eq": value.value ?? .null])) }))
        })]
    }

    /// Which of `keys` a document of `collection` has now (as stored: `on` fields are the
    /// same path at every version, `WriteTarget.checkOnUnchanged`). A stored array under
    /// a single `on` field matches each of its elements, as an equality query does.
    static func existing(_ keys: [MergeKey], on: [String], in collection: MongoCollection) throws -> Set<MergeKey> {
        guard !keys.isEmpty else { return [] }
        let projection = Document(on.map { ($0, .int32(1)) })
        var found = Set<MergeKey>()
        let cursor = try collection.find(filter(keys, on: on), options: FindOptions(projection: projection))
        while let doc = try cursor.nextDocument() {
            let values = on.map { doc.value(atPath: $0) }
            if on.count == 1, case .array(let items)? = values[0] {
                for item in items { found.insert(MergeKey(values: [GroupKey(item)])) }
            }
            found.insert(MergeKey(values: values.map(GroupKey.init)))
        }
        return found
    }
}

/// The outcome of each result of a `$merge`, in order, from whether its key existed in
/// the target before the write began (`MergeKeys.existing`) or was inserted by an earlier
/// result of the run. Which result would make the stage fail, if any, is kept too.
struct MergeTally {
    let whenMatched: OutputStage.WhenMatched
    let whenNotMatched: OutputStage.WhenNotMatched
    private var insertedByRun = Set<MergeKey>()
    /// The first result that fails the stage (`whenMatched: fail` matching,
    /// `whenNotMatched: fail` not matching); counting stops there.
    private(set) var failure: MergeFailure?

    init(_ output: OutputStage) {
        whenMatched = output.whenMatched
        whenNotMatched = output.whenNotMatched
    }

    mutating func count(_ keys: [MergeKey?], existing: Set<MergeKey>, into summary: inout WriteSummary) {
        for key in keys {
            guard failure == nil else { return }
            let matches = key.map { existing.contains($0) || insertedByRun.contains($0) } ?? false
            summary.documents += 1
            if matches {
                switch whenMatched {
                case .fail: failure = .matched; return
                case .replace: summary.replaced += 1
                case .keepExisting: summary.kept += 1
                case .merge, .pipeline: summary.updated += 1
                }
                summary.matched += 1
            } else {
                switch whenNotMatched {
                case .fail: failure = .notMatched; return
                case .discard: summary.discarded += 1
                case .insert:
                    summary.inserted += 1
                    if let key { insertedByRun.insert(key) }
                }
            }
        }
    }
}

/// Why a `$merge` stops partway.
enum MergeFailure {
    case matched, notMatched
}

/// mongod's error for a result `whenNotMatched: fail` refuses (MergeStageNoMatchingDocument).
let mergeNoMatchMessage = "$merge could not find a matching document in the target collection for at least one document in the source collection"
