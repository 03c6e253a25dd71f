import CMongoc
import StrataBSON
import StrataLibBSON

/// The one error type of the driver layer: what libmongoc reported
/// (`bson_error_t`) merged with what the server replied, when it did.
public struct MongoError: Error, Sendable, CustomStringConvertible {
    public struct Kind: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable { case connection, server, write, invalidArgument, cursor, client }
        private let base: Base
        private init(_ base: Base) { self.base = base }
        /// The server could not be reached or selected in time.
        public static let connection = Kind(.connection)
        /// The server answered a command with `ok: 0`.
        public static let server = Kind(.server)
        /// A write (insert, update, delete) failed on some documents.
        public static let write = Kind(.write)
        /// Bad input caught before anything was sent (a bad URI, say).
        public static let invalidArgument = Kind(.invalidArgument)
        public static let cursor = Kind(.cursor)
        /// Anything else libmongoc reported.
        public static let client = Kind(.client)
        public var description: String { base.rawValue }
    }

    public let kind: Kind
    /// The server's error code, or libmongoc's when the server did not answer.
    public let code: Int
    public let codeName: String?
    public let message: String
    /// `errorLabels` from the reply (e.g. "TransientTransactionError").
    public let labels: [String]
    /// The server's reply, when there was one.
    public let reply: Document?

    public init(kind: Kind, code: Int = 0, codeName: String? = nil, message: String, labels: [String] = [], reply: Document? = nil) {
        self.kind = kind
        self.code = code
        self.codeName = codeName
        self.message = message
        self.labels = labels
        self.reply = reply
    }

    public var description: String {
        var s = message
        if let codeName { s += " (\(codeName), code \(code))" } else if code != 0 && kind == .server { s += " (code \(code))" }
        return s
    }

    /// True for a duplicate-key write error (E11000).
    public var isDuplicateKey: Bool { code == 11000 || code == 11001 }

    /// Builds the error from libmongoc's `bson_error_t` and the server's reply.
    static func from(_ error: bson_error_t, reply: Document?) -> MongoError {
        let text = messageText(of: error)
        let labels = reply?["errorLabels"]?.arrayValue?.compactMap(\.stringValue) ?? []
        if let reply, let writeErrors = reply["writeErrors"]?.arrayValue, let first = writeErrors.first?.documentValue {
            let code = first["code"]?.exactInt.map(Int.init) ?? Int(error.code)
            let msg = first["errmsg"]?.stringValue ?? text
            let more = writeErrors.count > 1 ? " (and \(writeErrors.count - 1) more write errors)" : ""
            return MongoError(kind: .write, code: code, codeName: first["codeName"]?.stringValue,
                              message: msg + more, labels: labels, reply: reply)
        }
        let domain = error.domain
        if domain == MONGOC_ERROR_SERVER_SELECTION.rawValue || domain == MONGOC_ERROR_STREAM.rawValue {
            return MongoError(kind: .connection, code: Int(error.code),
                              message: "cannot reach the MongoDB server: \(text)", labels: labels, reply: reply)
        }
        if domain == MONGOC_ERROR_SERVER.rawValue || domain == MONGOC_ERROR_QUERY.rawValue
            || domain == MONGOC_ERROR_WRITE_CONCERN.rawValue
        {
            let code = reply?["code"]?.exactInt.map(Int.init) ?? Int(error.code)
            return MongoError(kind: .server, code: code, codeName: reply?["codeName"]?.stringValue,
                              message: reply?["errmsg"]?.stringValue ?? text, labels: labels, reply: reply)
        }
        if domain == MONGOC_ERROR_COMMAND.rawValue && error.code == MONGOC_ERROR_COMMAND_INVALID_ARG.rawValue {
            return MongoError(kind: .invalidArgument, code: Int(error.code), message: text, labels: labels, reply: reply)
        }
        if domain == MONGOC_ERROR_CURSOR.rawValue {
            return MongoError(kind: .cursor, code: Int(error.code), message: text, labels: labels, reply: reply)
        }
        return MongoError(kind: .client, code: Int(error.code), message: text, labels: labels, reply: reply)
    }
}
