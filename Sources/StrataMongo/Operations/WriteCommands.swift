import StrataBSON

/// Results of update/delete commands.
public struct UpdateResult: Sendable {
    public let matched: Int
    public let modified: Int
    public let upserted: Int
}

extension MongoCollection {
    private func checkWriteReply(_ reply: Document) throws {
        if let errors = reply["writeErrors"]?.arrayValue, let first = errors.first?.documentValue {
            throw MongoError(kind: .write, code: first["code"]?.exactInt.map(Int.init) ?? 0,
                             codeName: first["codeName"]?.stringValue,
                             message: first["errmsg"]?.stringValue ?? "write error", reply: reply)
        }
        if let wce = reply["writeConcernError"]?.documentValue {
            throw MongoError(kind: .write, code: wce["code"]?.exactInt.map(Int.init) ?? 0,
                             message: wce["errmsg"]?.stringValue ?? "write concern error", reply: reply)
        }
    }

    /// One `update` command carrying several statements (`q`, `u`, `upsert`, `multi`).
    public func update(_ statements: [Document], ordered: Bool = true) throws -> UpdateResult {
        let reply = try database.runCommand([
            "update": .string(name), "updates": .array(statements.map(BSON.document)), "ordered": .bool(ordered),
        ])
        try checkWriteReply(reply)
        return UpdateResult(matched: reply["n"]?.exactInt.map(Int.init) ?? 0,
                            modified: reply["nModified"]?.exactInt.map(Int.init) ?? 0,
                            upserted: reply["upserted"]?.arrayValue?.count ?? 0)
    }

    /// Replaces the one document matching `filter` with `replacement` (a whole document).
    @discardableResult
    public func replaceOne(_ filter: Document, with replacement: Document, upsert: Bool = false) throws -> UpdateResult {
        try update([["q": .document(filter), "u": .document(replacement), "upsert": .bool(upsert)]])
    }

    @discardableResult
    public func updateMany(_ filter: Document, _ update: Document) throws -> UpdateResult {
        try self.update([["q": .document(filter), "u": .document(update), "multi": true]])
    }

    /// Deletes documents; `limit: 1` deletes at most one per statement.
    @discardableResult
    public func delete(_ filter: Document, limitOne: Bool = false) throws -> Int {
        let reply = try database.runCommand([
            "delete": .string(name),
            "deletes": [["q": .document(filter), "limit": .int32(limitOne ? 1 : 0)]],
        ])
        try checkWriteReply(reply)
        return reply["n"]?.exactInt.map(Int.init) ?? 0
    }
}
