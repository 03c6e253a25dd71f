import CMongoc
import StrataBSON
import StrataLibBSON

/// What the server offers, from its `hello` reply.
package struct ServerCapabilities: Sendable {
    /// A replica-set member or a mongos: multi-document transactions and change streams work.
    package let supportsTransactions: Bool

    /// The wire version (mongod 4.2 = 8, 6.0 = 17...).
    package let maxWireVersion: Int
    /// The `hello` reply as the server sent it.
    package let hello: Document
}

extension MongoDatabase {
    /// Asks the server (`hello`) what it offers. Transactions need a replica set
    /// (`setName`) or a mongos (`msg: "isdbgrid"`) and logical sessions.
    package func capabilities() throws -> ServerCapabilities {
        let hello: Document
        do { hello = try runCommand(["hello": 1]) } catch let e as MongoError where e.kind == .server {
            hello = try runCommand(["isMaster": 1])
        }
        let replicated = hello["setName"] != nil || hello["msg"]?.stringValue == "isdbgrid"
        let sessions = hello["logicalSessionTimeoutMinutes"] != nil
        let wire = hello["maxWireVersion"]?.exactInt.map(Int.init) ?? 0
        return ServerCapabilities(supportsTransactions: replicated && sessions && wire >= 7, maxWireVersion: wire, hello: hello)
    }

    /// Runs `body` in one multi-document transaction on one session and commits it.
    /// `body` returning normally commits; throwing aborts (and rethrows). A commit or
    /// a body that fails with the `TransientTransactionError` label is retried from the
    /// start (up to `attempts` times); `UnknownTransactionCommitResult` retries the commit.
    package func withTransaction<T>(attempts: Int = 5, _ body: (MongoTransaction) throws -> T) throws -> T {
        try pool.withClient { client in
            var lastError: Error?
            for _ in 0..<max(1, attempts) {
                let txn = try MongoTransaction(client: client, database: name)
                defer { txn.end() }
                try txn.start()
                let result: T
                do {
                    result = try body(txn)
                } catch let e as MongoError where e.labels.contains("TransientTransactionError") {
                    txn.abortQuietly()
                    lastError = e
                    continue
                } catch {
                    txn.abortQuietly()
                    throw error
                }
                var commitAttempts = 0
                while true {
                    do {
                        try txn.commit()
                        return result
                    } catch let e as MongoError where e.labels.contains("UnknownTransactionCommitResult") && commitAttempts < 3 {
                        commitAttempts += 1
                        continue
                    } catch let e as MongoError where e.labels.contains("TransientTransactionError") {
                        lastError = e
                        break
                    }
                }
            }
            throw lastError ?? MongoError(kind: .client, message: "the transaction did not commit")
        }
    }
}

/// One transaction on a session of a client lent by the pool. Commands run
/// through it carry the session (and so belong to the transaction). Lives only
/// inside `MongoDatabase.withTransaction`.
package final class MongoTransaction {
    private let client: MongoClient
    private let session: OpaquePointer
    package let database: String
    private var ended = false

    init(client: MongoClient, database: String) throws {
        self.client = client
        self.database = database
        var error = bson_error_t()
        guard let s = mongoc_client_start_session(client.handle, nil, &error) else {
            throw MongoError.from(error, reply: nil)
        }
        self.session = s
    }

    func start() throws {
        var error = bson_error_t()
        guard mongoc_client_session_start_transaction(session, nil, &error) else {
            throw MongoError.from(error, reply: nil)
        }
    }

    func commit() throws {
        try withAlignedBSON { reply in
            var error = bson_error_t()
            let ok = mongoc_client_session_commit_transaction(session, reply, &error)
            let replyDoc = BSONReader.document(from: reply)
            bson_destroy(reply)
            guard ok else { throw MongoError.from(error, reply: replyDoc) }
        }
    }

    func abortQuietly() {
        var error = bson_error_t()
        if mongoc_client_session_in_transaction(session) {
            _ = mongoc_client_session_abort_transaction(session, &error)
        }
    }

    func end() {
        guard !ended else { return }
        ended = true
        mongoc_client_session_destroy(session)
    }

    deinit { end() }

    /// Runs a command inside the transaction; `ok: 0` and write errors throw.
    package func runCommand(_ command: Document) throws -> Document {
        let cmd = BSONBuffer(command)
        let opts = BSONBuffer()
        var error = bson_error_t()
        guard mongoc_client_session_append(session, opts.pointer, &error) else { throw MongoError.from(error, reply: nil) }
        let reply: Document = try withAlignedBSON { reply in
            var error = bson_error_t()
            let ok = mongoc_client_write_command_with_opts(client.handle, database, cmd.pointer, opts.pointer, reply, &error)
            let replyDoc = BSONReader.document(from: reply)
            bson_destroy(reply)
            guard ok else { throw MongoError.from(error, reply: replyDoc) }
            return replyDoc
        }
        if let errors = reply["writeErrors"]?.arrayValue, let first = errors.first?.documentValue {
            throw MongoError(kind: .write, code: first["code"]?.exactInt.map(Int.init) ?? 0,
                             codeName: first["codeName"]?.stringValue,
                             message: first["errmsg"]?.stringValue ?? "write error",
                             labels: reply["errorLabels"]?.arrayValue?.compactMap(\.stringValue) ?? [], reply: reply)
        }
        return reply
    }

    /// A read inside the transaction: the first batch of a `find` (enough for lookups by `_id`).
    package func find(_ collection: String, _ filter: Document, limit: Int = 0) throws -> [Document] {
        let cmd = BSONBuffer(["find": .string(collection), "filter": .document(filter), "limit": .int64(Int64(limit)),
                              "singleBatch": .bool(limit > 0)])
        let opts = BSONBuffer()
        var error = bson_error_t()
        guard mongoc_client_session_append(session, opts.pointer, &error) else { throw MongoError.from(error, reply: nil) }
        let reply: Document = try withAlignedBSON { reply in
            var error = bson_error_t()
            let ok = mongoc_client_read_command_with_opts(client.handle, database, cmd.pointer, nil, opts.pointer, reply, &error)
            let replyDoc = BSONReader.document(from: reply)
            bson_destroy(reply)
            guard ok else { throw MongoError.from(error, reply: replyDoc) }
            return replyDoc
        }
        return reply["cursor"]?.documentValue?["firstBatch"]?.arrayValue?.compactMap(\.documentValue) ?? []
    }

    /// `insert` of documents into `collection`, in the transaction.
    package func insert(_ collection: String, _ documents: [Document]) throws {
        _ = try runCommand(["insert": .string(collection), "documents": .array(documents.map(BSON.document))])
    }

    /// One `update` command in the transaction; returns (matched, modified).
    package func update(_ collection: String, _ statements: [Document]) throws -> UpdateResult {
        let reply = try runCommand(["update": .string(collection), "updates": .array(statements.map(BSON.document))])
        return UpdateResult(matched: reply["n"]?.exactInt.map(Int.init) ?? 0,
                            modified: reply["nModified"]?.exactInt.map(Int.init) ?? 0,
                            upserted: reply["upserted"]?.arrayValue?.count ?? 0)
    }

    /// Deletes what `filter` matches (at most one with `limitOne`); returns how many.
    package func delete(_ collection: String, _ filter: Document, limitOne: Bool = true) throws -> Int {
        let reply = try runCommand(["delete": .string(collection),
                                    "deletes": [["q": .document(filter), "limit": .int32(limitOne ? 1 : 0)]]])
        return reply["n"]?.exactInt.map(Int.init) ?? 0
    }
}
