import StrataEvaluator
import StrataBSON
import ArgumentParser
import Foundation
import Strata
import StrataMongo

// Options shared by several subcommands, each an `@OptionGroup`.

/// `--collection NAME` (`-c`).
struct CollectionOptions: ParsableArguments {
    @Option(name: [.customLong("collection"), .customShort("c")],
            help: ArgumentHelp("The collection to work on.", valueName: "name"))
    var name: String

    func validate() throws {
        try Names.checkCollection(name, what: "--collection")
    }
}

/// `--uri` and `--db`, with their environment fallbacks and the embedded server.
struct ConnectionOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "The MongoDB connection string. Default: $STRATA_URI, else the embedded server started by 'make server' in the current directory.",
        valueName: "uri"))
    var uri: String?

    @Option(name: .long, help: ArgumentHelp("The database. Default: $STRATA_DB, else 'strata'.", valueName: "name"))
    var db: String?

    @Option(name: .customLong("tls-ca-file"), help: ArgumentHelp(
        "Turns TLS on and trusts the server certificates this PEM file's authorities sign (libmongoc's tlsCAFile; also in the URI).",
        valueName: "ca.pem"))
    var tlsCAFile: String?

    @Option(name: .customLong("tls-certificate-key-file"), help: ArgumentHelp(
        "Turns TLS on and presents this client certificate: a PEM file with the certificate and its private key (libmongoc's tlsCertificateKeyFile).",
        valueName: "client.pem"))
    var tlsCertificateKeyFile: String?

    @Option(name: .customLong("log-level"), help: ArgumentHelp(
        "swift-log lines on stderr from this level up: trace, debug (each query's plan, each migrator batch), info, notice, warning, error, critical. Default: $STRATA_LOG_LEVEL, else error.",
        valueName: "level"))
    var logLevel: String?

    func validate() throws {
        if let logLevel { _ = try CLILogging.parse(logLevel, what: "--log-level") }
        if let uri, uri.trimmingCharacters(in: .whitespaces).isEmpty {
            throw ValidationError("--uri must not be empty")
        }
        if let db { try Names.checkDatabase(db, what: "--db") }
        for (flag, path) in [("--tls-ca-file", tlsCAFile), ("--tls-certificate-key-file", tlsCertificateKeyFile)] {
            if let path, !FileManager.default.isReadableFile(atPath: path) {
                throw ValidationError("\(flag) \(path): no such readable file")
            }
        }
    }

    /// `uri` with the TLS flags added as URI options (`tls=true&tlsCAFile=...`).
    func withTLSOptions(_ uri: String) -> String {
        var options: [String] = []
        if tlsCAFile != nil || tlsCertificateKeyFile != nil { options.append("tls=true") }
        let allowed = CharacterSet.urlQueryAllowed.subtracting(CharacterSet(charactersIn: "&=+"))
        if let tlsCAFile { options.append("tlsCAFile=" + (tlsCAFile.addingPercentEncoding(withAllowedCharacters: allowed) ?? tlsCAFile)) }
        if let tlsCertificateKeyFile {
            options.append("tlsCertificateKeyFile=" + (tlsCertificateKeyFile.addingPercentEncoding(withAllowedCharacters: allowed) ?? tlsCertificateKeyFile))
        }
        guard !options.isEmpty else { return uri }
        if uri.contains("?") { return uri + (uri.hasSuffix("?") || uri.hasSuffix("&") ? "" : "&") + options.joined(separator: "&") }
        // mongodb://host[:port][,host...] needs a '/' before the options.
        let afterScheme = uri.range(of: "://").map { uri[$0.upperBound...] } ?? Substring(uri)
        return uri + (afterScheme.contains("/") ? "?" : "/?") + options.joined(separator: "&")
    }

    /// Where to connect: `--uri` > `$STRATA_URI` > the running embedded server of
    /// `directory` (`.server/default/uri`, whose pid must be alive). Connects to nothing.
    func resolve(environment: [String: String] = ProcessInfo.processInfo.environment,
                 directory: String = FileManager.default.currentDirectoryPath) throws -> Connection {
        let level = try logLevel.map { try CLILogging.parse($0, what: "--log-level") }
            ?? environment["STRATA_LOG_LEVEL"].flatMap { $0.isEmpty ? nil : $0 }.map { try CLILogging.parse($0, what: "$STRATA_LOG_LEVEL") }
            ?? .error
        CLILogging.bootstrap(level)
        let database: String
        if let db {
            database = db
        } else if let env = environment["STRATA_DB"], !env.isEmpty {
            try Names.checkDatabase(env, what: "$STRATA_DB")
            database = env
        } else {
            database = "strata"
        }
        if let uri { return Connection(uri: withTLSOptions(uri), source: .option, databaseName: database) }
        if let env = environment["STRATA_URI"], !env.trimmingCharacters(in: .whitespaces).isEmpty {
            return Connection(uri: withTLSOptions(env), source: .environment, databaseName: database)
        }
        let state = URL(fileURLWithPath: directory).appendingPathComponent(".server/default")
        let uriFile = state.appendingPathComponent("uri").path
        let pidFile = state.appendingPathComponent("pid").path
        guard let text = try? String(contentsOfFile: uriFile, encoding: .utf8),
              !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw NoServer(message: "no MongoDB server to connect to: pass --uri URI, set STRATA_URI, or start the embedded server with 'make server' (in the strata checkout, then run strata from there)")
        }
        let pidText = (try? String(contentsOfFile: pidFile, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
        guard let pidText, let pid = Int32(pidText), pid > 0, kill(pid, 0) == 0 || errno == EPERM else {
            throw NoServer(message: "the embedded server recorded in \(state.path) is not running: start it with 'make server', or pass --uri URI / set STRATA_URI")
        }
        return Connection(uri: withTLSOptions(text.trimmingCharacters(in: .whitespacesAndNewlines)),
                          source: .embedded(pid: pid), databaseName: database)
    }
}

/// A resolved connection: the URI, where it came from, and the database.
struct Connection {
    enum Source: CustomStringConvertible {
        case option, environment, embedded(pid: Int32)
        var description: String {
            switch self {
            case .option: return "from --uri"
            case .environment: return "from $STRATA_URI"
            case .embedded(let pid): return "the embedded server of .server/default, pid \(pid)"
            }
        }
    }

    let uri: String
    let source: Source
    let databaseName: String

    /// Runs `body` on the database (one pool per process). A server that cannot
    /// be reached becomes a `ConnectionFailure` that says which URI and where it
    /// came from; every other error passes through unchanged.
    func run<T>(_ body: (MongoDatabase) throws -> T) throws -> T {
        let pool = try MongoPool.shared(uri: uri)
        do {
            return try body(MongoDatabase(pool: pool, name: databaseName))
        } catch let e as MongoError where e.kind == .connection {
            throw ConnectionFailure(error: e, uri: pool.redactedURI, source: source)
        }
    }
}

/// `--schemas DIR`: where lens files are.
struct SchemaOptions: ParsableArguments {
    @Option(name: .customLong("schemas"),
            help: ArgumentHelp("The folder of lens files, one <collection>.json each.", valueName: "dir"))
    var directory: String = "./schemas"

    /// Loads `<directory>/<collection>.json` (bad JSON or a bad lens: `.badInput` naming file and place),
    /// its `lookup`s into collections with lens files of their own bound to those lenses.
    func lens(for collection: String) throws -> Lens {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw StrataError.badInput("the schemas folder does not exist (pass --schemas DIR)", at: Location(file: directory))
        }
        let url = URL(fileURLWithPath: directory, isDirectory: true)
        let lens = try Lens.load(collection: collection, schemasDirectory: url).bindingLookups(schemasDirectory: url)
        for w in lens.warnings { ErrorReporter.printError("strata: \(w.description)") }
        return lens
    }
}

/// Checks names the way the server would, so a typo fails before connecting.
enum Names {
    static func checkDatabase(_ name: String, what: String) throws {
        if name.isEmpty { throw ValidationError("\(what) must not be empty") }
        if let bad = name.first(where: { "/\\. \"$\0".contains($0) }) {
            throw ValidationError("\(what) '\(name)' is not a database name: it contains '\(bad)'")
        }
        if name.utf8.count > 63 { throw ValidationError("\(what) '\(name)' is longer than 63 bytes") }
    }

    static func checkCollection(_ name: String, what: String) throws {
        if name.isEmpty { throw ValidationError("\(what) must not be empty") }
        if name.contains("$") || name.contains("\0") {
            throw ValidationError("\(what) '\(name)' is not a collection name: it contains '$' or NUL")
        }
        if name.hasPrefix("system.") { throw ValidationError("\(what) '\(name)': system collections are off limits") }
    }
}
