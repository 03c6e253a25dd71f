import StrataBSON
import StrataEvaluator
import StrataLens
import StrataLibBSON
import StrataMongo

/// Looks for documents stored at versions the lens does not know, before a query
/// runs — every time, so correctness never depends on a histogram being fresh.
///
/// With `Lens.unknownVersionIndex` (which `strata index` creates where the server takes
/// `$or` in a partial filter), the look is one `find` hinted to it: the index holds
/// exactly the documents at unknown versions, so on a healthy collection it is empty
/// and the find is instant (about a millisecond on SecantusDB at 200k documents).
/// Otherwise:
///
/// With an index the version histogram can count on (first key the version field;
/// not sparse, partial, hidden or collated), the look is a series of `find`s of at
/// most one document, one per range of `Lens.unknownVersionProbes` (numbers outside
/// and between the known versions, NaN, then one range per other BSON type), each
/// bounded so that no index key of a known version is read: on a healthy collection
/// each costs about a millisecond. Those carry no `hint`: SecantusDB answers a hinted
/// find with a scan of the whole index. The types no range bounds everywhere (objects,
/// arrays, regular expressions...) are one `find` hinted to `Lens.unusualVersionIndex`,
/// a partial index holding only them (empty, so instant); without that index, one
/// unhinted `$type` find (a collection scan on SecantusDB: ~6 s at 200k documents).
///
/// Without such an index it is one `find` with `Lens.filterForUnknownVersions`,
/// which the server answers with a collection scan (`strata index` creates the
/// index).
///
/// An explicit null is read as absent (as the version filters read it), so it is
/// not "unknown"; the histogram still shows such documents on a line of their own.
struct UnknownVersionProbe {
    let collection: MongoCollection
    let lens: Lens

    enum Method: Equatable, CustomStringConvertible {
        case index(name: String, queries: Int)
        case scan(reason: String)

        var description: String {
            switch self {
            case .index(let name, let queries): return "\(queries) bounded find\(queries == 1 ? "" : "s") on index '\(name)'"
            case .scan(let reason): return "one find scanning the collection (\(reason))"
            }
        }
    }

    /// Whether any document is at an unknown version, and how that was found out.
    /// `indexes`: the collection's, when already listed.
    func anyUnknown(indexes listed: [Document]? = nil) throws -> (found: Bool, method: Method) {
        let reader = HistogramReader(collection: collection, field: lens.versionField, absentMeans: lens.absentMeans,
                                     known: lens.knownVersions)
        let indexes = try listed ?? collection.listIndexes()
        if let unknown = indexes.first(where: { isIndex($0, holdingExactly: lens.unknownVersionIndex.partialFilter) }),
           let name = unknown["name"]?.stringValue
        {
            let options = FindOptions(projection: ["_id": 1], limit: 1, hint: .string(name))
            return (try collection.find(lens.unknownVersionIndex.partialFilter, options: options).nextDocument() != nil,
                    .index(name: name, queries: 1))
        }
        guard let index = indexes.first(where: reader.isCandidate), let name = index["name"]?.stringValue else {
            let found = try collection.findOne(lens.filterForUnknownVersions) != nil
            return (found, .scan(reason: "no usable index starts with '\(lens.versionField)'; `strata index` creates one"))
        }
        var probes: [(filter: Document, hint: String?)] = lens.unknownVersionProbes.map { ($0.filter, nil) }
        if let unusual = indexes.first(where: { isIndex($0, holdingExactly: lens.unusualVersionFilter) }),
           let hint = unusual["name"]?.stringValue
        {
            probes.append((lens.unusualVersionFilter, hint))
        } else {
            // Unhinted, one `$type` query: bounded on mongod; a collection scan on SecantusDB.
            probes.append((lens.unusualVersionFilter, nil))
        }
        var queries = 0
        for (filter, hint) in probes {
            queries += 1
            let options = FindOptions(projection: ["_id": 1], limit: 1, hint: hint.map { .string($0) })
            if try collection.find(filter, options: options).nextDocument() != nil {
                return (true, .index(name: name, queries: queries))
            }
        }
        return (false, .index(name: name, queries: queries))
    }

    /// An index on the version field alone whose partial filter is exactly `filter`
    /// (`Lens.unknownVersionIndex`, `Lens.unusualVersionIndex`, or one like them), so a
    /// find hinted to it sees every document the filter matches.
    func isIndex(_ index: Document, holdingExactly filter: Document) -> Bool {
        guard let keys = index["key"]?.documentValue, keys.count == 1, keys.first?.key == lens.versionField,
              let partial = index["partialFilterExpression"]?.documentValue else { return false }
        if index["sparse"]?.boolValue == true || index["hidden"]?.boolValue == true || index["collation"] != nil { return false }
        return ExtendedJSON.string(.document(partial), mode: .canonical) == ExtendedJSON.string(.document(filter), mode: .canonical)
    }
}
