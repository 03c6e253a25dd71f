import CMongoc
import Foundation
import StrataLibBSON
import Synchronization

private let initializeMongoc: Void = {
    mongoc_init()
    // libmongoc logs connection retries at DEBUG to stderr; a CLI and a test
    // log want only its errors (every failure also comes back as a MongoError).
    mongoc_log_set_handler({ level, domain, message, _ in
        guard level.rawValue <= MONGOC_LOG_LEVEL_ERROR.rawValue, let message else { return }
        let text = "libmongoc: \(domain.map { String(cString: $0) } ?? ""): \(String(cString: message))\n"
        FileHandle.standardError.write(Data(text.utf8))
    }, nil)
}()

/// One libmongoc client pool. The C pool is thread-safe (libmongoc documents
/// `mongoc_client_pool_t` as such), so this thin wrapper of it is the one
/// `@unchecked Sendable` type of the layer; clients are popped from it for a
/// single operation and pushed back when it ends.
///
/// Destroying a pool costs ~500 ms: keep one per process (`MongoPool.shared`).
public final class MongoPool: @unchecked Sendable {
    let handle: OpaquePointer
    /// The URI as given (credentials included; do not print it, see `redactedURI`).
    public let uri: String
    /// Records every command the pool's clients send, when one was given.
    public let monitor: CommandMonitor?

    /// - Parameter serverSelectionTimeoutMS: used when the URI sets none, so an
    ///   unreachable server fails in seconds rather than libmongoc's 30.
    /// - Parameter monitor: records every command sent (command monitoring).
    public init(uri: String, appName: String = "strata", serverSelectionTimeoutMS: Int32 = 3000,
                monitor: CommandMonitor? = nil) throws {
        _ = initializeMongoc
        var error = bson_error_t()
        guard let cURI = mongoc_uri_new_with_error(uri, &error) else {
            throw MongoError(kind: .invalidArgument, message: "invalid MongoDB URI: \(messageText(of: error))")
        }
        defer { mongoc_uri_destroy(cURI) }
        let lower = uri.lowercased()
        if !lower.contains("serverselectiontimeoutms") {
            mongoc_uri_set_option_as_int32(cURI, MONGOC_URI_SERVERSELECTIONTIMEOUTMS, serverSelectionTimeoutMS)
        }
        if !lower.contains("connecttimeoutms") {
            mongoc_uri_set_option_as_int32(cURI, MONGOC_URI_CONNECTTIMEOUTMS, min(serverSelectionTimeoutMS, 3000))
        }
        if !lower.contains("appname") { mongoc_uri_set_appname(cURI, appName) }
        guard let pool = mongoc_client_pool_new_with_error(cURI, &error) else {
            throw MongoError(kind: .invalidArgument, message: "cannot create a client pool: \(messageText(of: error))")
        }
        mongoc_client_pool_set_error_api(pool, Int32(MONGOC_ERROR_API_VERSION_2))
        mongoc_client_pool_max_size(pool, 64)
        monitor?.install(on: pool)
        self.handle = pool
        self.uri = uri
        self.monitor = monitor
    }

    deinit { mongoc_client_pool_destroy(handle) }

    /// The URI with any password replaced by `***`.
    public var redactedURI: String { redactURI(uri) }

    /// Lends a client for the duration of `body`. The client must not escape.
    public func withClient<T>(_ body: (MongoClient) throws -> T) throws -> T {
        let client = MongoClient(borrowing: mongoc_client_pool_pop(handle)!, from: self)
        defer { client.giveBack() }
        return try body(client)
    }

    func pop() -> OpaquePointer { mongoc_client_pool_pop(handle)! }
    func push(_ client: OpaquePointer) { mongoc_client_pool_push(handle, client) }

    // MARK: one pool per URI per process

    private static let pools = Mutex<[String: MongoPool]>([:])

    /// The process-wide pool for `uri`, created on first use and never destroyed.
    public static func shared(uri: String) throws -> MongoPool {
        try pools.withLock { pools in
            if let p = pools[uri] { return p }
            let p = try MongoPool(uri: uri)
            pools[uri] = p
            return p
        }
    }
}

func redactURI(_ uri: String) -> String { MongoPool.redactingCredentials(in: uri) }

extension MongoPool {
    /// `text` with the password of every MongoDB connection string in it replaced by
    /// `***` (`mongodb://user:***@host`, `mongodb+srv://...` too); a user name stays.
    /// For anything strata prints or writes that may hold a URI (a command line, say).
    public static func redactingCredentials(in text: String) -> String {
        var out = ""
        var rest = Substring(text)
        while let sep = rest.range(of: "://") {
            out += rest[..<sep.upperBound]
            let before = out.lowercased()
            rest = rest[sep.upperBound...]
            guard before.hasSuffix("mongodb://") || before.hasSuffix("mongodb+srv://") else { continue }
            // The authority ends at the first '/', '?', '#', quote or white space; the
            // credentials end at its last '@'.
            let authorityEnd = rest.firstIndex(where: { "/?#'\" \t\n".contains($0) }) ?? rest.endIndex
            guard let at = rest[..<authorityEnd].lastIndex(of: "@") else { continue }
            let credentials = rest[..<at]
            out += credentials.firstIndex(of: ":").map { credentials[..<$0] + ":***" } ?? String(credentials)
            rest = rest[at...]
        }
        return out + rest
    }

}

/// A `mongoc_client_t` lent by the pool for one operation. Not thread-safe and
/// not `Sendable`: it lives inside `MongoPool.withClient` or a `MongoCursor`.
public final class MongoClient {
    let handle: OpaquePointer
    let pool: MongoPool
    private var returned = false

    init(borrowing handle: OpaquePointer, from pool: MongoPool) {
        self.handle = handle
        self.pool = pool
    }

    func giveBack() {
        guard !returned else { return }
        returned = true
        pool.push(handle)
    }

    deinit { giveBack() }

    /// Runs `body` with a `mongoc_collection_t` for `db.collection`, freed afterwards.
    func withCollection<T>(_ db: String, _ collection: String, _ body: (OpaquePointer) throws -> T) rethrows -> T {
        let c = mongoc_client_get_collection(handle, db, collection)!
        defer { mongoc_collection_destroy(c) }
        return try body(c)
    }
}
