import StrataBSON

extension MongoCollection {
    /// Drops the collection; dropping one that does not exist is not an error.
    public func drop() throws {
        do { _ = try database.runCommand(["drop": .string(name)]) } catch let e as MongoError where e.code == 26 {
            // NamespaceNotFound
        }
    }

    /// The number of documents matching `filter` (an aggregation, never metadata).
    public func countDocuments(_ filter: Document = [:]) throws -> Int {
        let rows = try aggregateAll([["$match": .document(filter)], ["$group": ["_id": 1, "n": ["$sum": 1]]]])
        return rows.first?["n"]?.exactInt.map(Int.init) ?? 0
    }

    /// The server's `distinct` command.
    public func distinct(_ key: String, filter: Document = [:]) throws -> [BSON] {
        let reply = try database.runCommand(["distinct": .string(name), "key": .string(key), "query": .document(filter)])
        return reply["values"]?.arrayValue ?? []
    }

    /// Creates indexes; each spec is `{key: {...}, name: ..., unique: ..., partialFilterExpression: ...}`.
    public func createIndexes(_ specs: [Document]) throws {
        guard !specs.isEmpty else { return }
        _ = try database.runCommand(["createIndexes": .string(name), "indexes": .array(specs.map(BSON.document))])
    }

    /// The collection's index specifications (empty when the collection does not exist).
    public func listIndexes() throws -> [Document] {
        do {
            let reply = try database.runCommand(["listIndexes": .string(name)])
            return reply["cursor"]?.documentValue?["firstBatch"]?.arrayValue?.compactMap(\.documentValue) ?? []
        } catch let e as MongoError where e.code == 26 {
            return []
        }
    }

    /// The server's explain of an aggregation (`queryPlanner` verbosity unless asked).
    public func explainAggregate(_ pipeline: [BSON], verbosity: String = "queryPlanner") throws -> Document {
        try database.runCommand([
            "explain": ["aggregate": .string(name), "pipeline": .array(pipeline), "cursor": [:]],
            "verbosity": .string(verbosity),
        ])
    }

    public func explainFind(_ filter: Document, verbosity: String = "queryPlanner") throws -> Document {
        try database.runCommand([
            "explain": ["find": .string(name), "filter": .document(filter)], "verbosity": .string(verbosity),
        ])
    }
}

extension MongoDatabase {
    /// The `listCollections` entry of one collection (`name`, `type`, `options`...), nil
    /// when there is none.
    public func collectionInfo(_ collection: String) throws -> Document? {
        let reply = try runCommand(["listCollections": 1, "filter": ["name": .string(collection)]])
        return reply["cursor"]?.documentValue?["firstBatch"]?.arrayValue?.first?.documentValue
    }

    /// `create`: a new collection with `options` (`validator`, `collation`...).
    public func createCollection(_ collection: String, options: Document = [:]) throws {
        var command: Document = ["create": .string(collection)]
        for (k, v) in options { command[k] = v }
        _ = try runCommand(command)
    }

    /// `renameCollection` within this database (run on `admin`); `dropTarget` replaces an
    /// existing `to` in the same step.
    public func renameCollection(_ from: String, to: String, dropTarget: Bool) throws {
        _ = try MongoDatabase(pool: pool, name: "admin").runCommand([
            "renameCollection": .string(name + "." + from), "to": .string(name + "." + to), "dropTarget": .bool(dropTarget),
        ])
    }
}
