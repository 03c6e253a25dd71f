import CMongoc
import Foundation
import StrataBSON
import StrataLibBSON
import Synchronization

/// Pins every read made through a database (`MongoDatabase.pinned(_:)`) to one state of
/// the server, so that a document changed by someone else while the reads run is seen
/// in the same state by all of them. Two mechanisms, as servers offer them:
///
/// - `clusterTime`: each `find` and `aggregate` carries
///   `readConcern: {level: "snapshot", atClusterTime: T}` (mongod 5.0+ replica sets and
///   sharded clusters: snapshot reads outside transactions, within the server's
///   `minSnapshotHistoryWindowInSeconds`). Any pooled client serves them; the commands
///   are built here and their cursors made from the replies, because libmongoc's own
///   read-concern option keeps only `level`.
/// - `transaction`: one multi-document transaction with snapshot read concern on one
///   session of one client (SecantusDB pins reads this way and no other; mongod too,
///   within `transactionLifetimeLimitSeconds`). The client is not thread-safe, so every
///   call on it — cursors read ahead on other threads included — holds `finished`'s lock
///   (`serialized`).
///
/// Only reads are pinned: `runCommand` (listIndexes, hello...) goes as before.
///
/// `@unchecked Sendable`, though neither `client` nor `session` is thread-safe: every use
/// of them is inside `serialized` (the `finished` mutex). They stay outside the mutex
/// because a pinned `MongoCursor` shares them past the call that opened it, which the
/// region checker cannot follow.
public final class ReadPin: @unchecked Sendable {
    package enum Mode: Sendable, Equatable {
        case clusterTime(BSONTimestamp)
        case transaction
    }

    package let mode: Mode
    let pool: MongoPool
    // `.transaction` only: the client and session every read goes through.
    let client: MongoClient?
    let session: OpaquePointer?
    /// Whether `finish()` ran; its lock serialises every use of `client` and `session`
    /// (cursors read ahead on threads of their own).
    private let finished = Mutex(false)

    private init(mode: Mode, pool: MongoPool, client: MongoClient?, session: OpaquePointer?) {
        self.mode = mode
        self.pool = pool
        self.client = client
        self.session = session
    }

    /// Reads at one cluster time.
    package static func clusterTime(_ time: BSONTimestamp, pool: MongoPool) -> ReadPin {
        ReadPin(mode: .clusterTime(time), pool: pool, client: nil, session: nil)
    }

    /// Starts a transaction with snapshot read concern on a client of its own; the
    /// snapshot is taken by the first read.
    package static func transaction(pool: MongoPool) throws -> ReadPin {
        let client = MongoClient(borrowing: pool.pop(), from: pool)
        var error = bson_error_t()
        let sessionOptions = mongoc_session_opts_new()!
        defer { mongoc_session_opts_destroy(sessionOptions) }
        mongoc_session_opts_set_causal_consistency(sessionOptions, false)
        guard let session = mongoc_client_start_session(client.handle, sessionOptions, &error) else {
            throw MongoError.from(error, reply: nil)
        }
        let pin = ReadPin(mode: .transaction, pool: pool, client: client, session: session)
        let txnOptions = mongoc_transaction_opts_new()!
        defer { mongoc_transaction_opts_destroy(txnOptions) }
        let concern = mongoc_read_concern_new()!
        defer { mongoc_read_concern_destroy(concern) }
        mongoc_read_concern_set_level(concern, "snapshot")
        mongoc_transaction_opts_set_read_concern(txnOptions, concern)
        guard mongoc_client_session_start_transaction(session, txnOptions, &error) else {
            throw MongoError.from(error, reply: nil)
        }
        return pin
    }

    /// Ends the pin: a transaction is aborted (it wrote nothing). Cursors still open
    /// fail on their next batch. Safe to call more than once.
    package func finish() {
        serialized { finished in
            guard !finished else { return }
            finished = true
            guard let session, mongoc_client_session_in_transaction(session) else { return }
            var error = bson_error_t()
            _ = mongoc_client_session_abort_transaction(session, &error)
        }
    }

    /// Ends the pin off the caller's path: the `abortTransaction` of a `.transaction` pin
    /// (a round trip that decides nothing once the answer is out) is sent from a serial
    /// queue of its own, after which the session is destroyed and its client goes back to
    /// the pool. Only after the reads are done: cursors still open fail on their next batch.
    /// `waitForDeferredEnds()` waits for every one sent so far (the CLI does before it
    /// exits, so no transaction is left for the server to time out).
    package func finishInBackground() {
        guard session != nil else { return finish() }
        Self.deferredEnds.async(group: Self.pendingEnds) { self.finish() }
    }

    private static let deferredEnds = DispatchQueue(label: "strata.read-pin.ends")
    private static let pendingEnds = DispatchGroup()

    /// Runs `body` with the ends held back (for tests: what a caller sees before they go).
    package static func holdingDeferredEnds<T>(_ body: () throws -> T) rethrows -> T {
        deferredEnds.suspend()
        defer { deferredEnds.resume() }
        return try body()
    }

    /// Waits until every pin ended by `finishInBackground()` so far has ended.
    package static func waitForDeferredEnds() {
        pendingEnds.wait()
    }

    /// Runs `body` holding the lock every use of the pin's client and session holds.
    func serialized<T>(_ body: (inout Bool) throws -> T) rethrows -> T {
        try finished.withLock { try body(&$0) }
    }

    deinit {
        if let session {
            if !finished.withLock({ $0 }), mongoc_client_session_in_transaction(session) {
                var error = bson_error_t()
                _ = mongoc_client_session_abort_transaction(session, &error)
            }
            mongoc_client_session_destroy(session)
        }
        client?.giveBack()
    }

    /// The read concern a `.clusterTime` pin puts on each command.
    package var readConcern: Document? {
        guard case .clusterTime(let t) = mode else { return nil }
        return ["level": "snapshot", "atClusterTime": .timestamp(t)]
    }

    // MARK: reads

    func aggregate(database: String, collection: String?, pipeline: [BSON], options: Document) throws -> MongoCursor {
        switch mode {
        case .clusterTime:
            var command: Document = ["aggregate": collection.map(BSON.string) ?? .int32(1), "pipeline": .array(pipeline)]
            var cursor = Document()
            for (k, v) in options {
                if k == "batchSize" { cursor["batchSize"] = v } else { command[k] = v }
            }
            command["cursor"] = .document(cursor)
            return try openFromReply(database: database, command: command)
        case .transaction:
            return try inSession(database: database, collection: collection, options: options) { coll, db, opts in
                let p = BSONBuffer(["pipeline": .array(pipeline)])
                if let coll { return mongoc_collection_aggregate(coll, MONGOC_QUERY_NONE, p.pointer, opts, nil)! }
                return mongoc_database_aggregate(db!, p.pointer, opts, nil)!
            }
        }
    }

    func find(database: String, collection: String, filter: Document, options: FindOptions) throws -> MongoCursor {
        switch mode {
        case .clusterTime:
            var command: Document = ["find": .string(collection), "filter": .document(filter)]
            for (k, v) in options.document { command[k] = v }
            return try openFromReply(database: database, command: command)
        case .transaction:
            let f = BSONBuffer(filter)
            return try inSession(database: database, collection: collection, options: options.document) { coll, _, opts in
                mongoc_collection_find_with_opts(coll!, f.pointer, opts, nil)!
            }
        }
    }

    /// `.clusterTime`: the command with the pinned read concern, on a pooled client, its
    /// cursor made from the reply (later batches by `getMore` on the same server).
    private func openFromReply(database: String, command: Document) throws -> MongoCursor {
        var command = command
        command["readConcern"] = .document(readConcern!)
        let client = MongoClient(borrowing: pool.pop(), from: pool)
        var error = bson_error_t()
        guard let server = mongoc_client_select_server(client.handle, false, nil, &error) else {
            throw MongoError.from(error, reply: nil)
        }
        let serverId = mongoc_server_description_id(server)
        mongoc_server_description_destroy(server)
        let opts = BSONBuffer(["serverId": .int32(Int32(truncatingIfNeeded: serverId))])
        let cmd = BSONBuffer(command)
        // getMore asks for the batch size the command asked for.
        var cursorOptions: Document = ["serverId": .int32(Int32(truncatingIfNeeded: serverId))]
        if let size = command["batchSize"] ?? command["cursor"]?.documentValue?["batchSize"] { cursorOptions["batchSize"] = size }
        let cursorOpts = BSONBuffer(cursorOptions)
        // The reply goes to the cursor, which takes it over (libmongoc steals it).
        let reply = bson_new()!
        guard mongoc_client_read_command_with_opts(client.handle, database, cmd.pointer, nil, opts.pointer, reply, &error) else {
            let replyDoc = BSONReader.document(from: reply)
            bson_destroy(reply)
            throw MongoError.from(error, reply: replyDoc)
        }
        let cursor = mongoc_cursor_new_from_command_reply_with_opts(client.handle, reply, cursorOpts.pointer)!
        return MongoCursor(cursor: cursor, collection: nil, client: client)
    }

    /// `.transaction`: opens a cursor with the session in its options, holding the lock.
    private func inSession(database: String, collection: String?, options: Document,
                           _ open: (OpaquePointer?, OpaquePointer?, OpaquePointer) -> OpaquePointer) throws -> MongoCursor {
        try serialized { finished in
            guard let client, let session else { preconditionFailure("a transaction pin has a session") }
            if finished { throw MongoError(kind: .client, message: "the read transaction has ended") }
            let opts = BSONBuffer(options)
            var error = bson_error_t()
            guard mongoc_client_session_append(session, opts.pointer, &error) else { throw MongoError.from(error, reply: nil) }
            if let collection {
                let coll = mongoc_client_get_collection(client.handle, database, collection)!
                return MongoCursor(cursor: open(coll, nil, opts.pointer), collection: coll, client: client, pin: self)
            }
            let db = mongoc_client_get_database(client.handle, database)!
            defer { mongoc_database_destroy(db) }
            return MongoCursor(cursor: open(nil, db, opts.pointer), collection: nil, client: client, pin: self)
        }
    }
}

extension MongoDatabase {
    /// The time of a snapshot read made now: a one-document `find` on `collection` with
    /// `readConcern: {level: "snapshot"}`, whose reply names the time the server read at
    /// (`cursor.atClusterTime`). Later reads at that time see the same state.
    package func snapshotTime(reading collection: String) throws -> BSONTimestamp {
        let reply = try pool.withClient { client in
            try client.readCommand(["find": .string(collection), "filter": [:], "projection": ["_id": 1], "limit": 1,
                                    "singleBatch": true, "readConcern": ["level": "snapshot"]], database: name)
        }
        if case .timestamp(let t)? = reply["cursor"]?.documentValue?["atClusterTime"] { return t }
        if case .timestamp(let t)? = reply["atClusterTime"] { return t }
        throw MongoError(kind: .server, message: "the server answered a snapshot read without saying the time it read at (atClusterTime)",
                         reply: reply)
    }
}
