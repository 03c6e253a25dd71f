// An HTTP service over a collection mid-migration, run by swift-service-lifecycle:
// a Hummingbird 2 server, a MigratorService moving old documents forward in the background
// (again every STRATA_MIGRATE_EVERY seconds), and a LiveHistogramService keeping the counts
// per version current. SIGTERM or SIGINT shuts the three down gracefully: the migrator
// finishes its batch, the watch stops, the server stops accepting and drains.
//
//   GET /histogram            the latest documents-per-version counts, as JSON
//   GET /events/count?kind=X  documents with kind X, counted through the lens (as if migrated)
//
// Environment: STRATA_URI (required), STRATA_DB (default "strata"), PORT (default 8080; 0
// picks a free port), STRATA_SCHEMAS (the lens folder, default "schemas"), STRATA_COLLECTION
// (default "events"), STRATA_MIGRATE_RATE (documents per second, default 500),
// STRATA_MIGRATE_EVERY (seconds between migrator runs, default 30), LOG_LEVEL (default info).
// Once listening it prints "listening on http://HOST:PORT" on standard output.
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import Strata
import StrataMongo

/// GET /histogram: the latest histogram.
struct HistogramBody: ResponseEncodable {
    var database: String
    var collection: String
    var versionField: String
    var total: Int
    /// Documents per version the lens knows (every one, zero included).
    var counts: [String: Int]
    /// Documents at integer versions the lens does not know.
    var unknownVersions: [String: Int]
    /// Documents whose version field is not an integer.
    var nonInteger: Int
    /// Kept current by a change stream (false: polling).
    var live: Bool
    var at: Date
}

/// GET /events/count.
struct CountBody: ResponseEncodable {
    var collection: String
    var kind: String?
    var count: Int
}

struct ConfigurationError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

@main
struct StrataServiceExample {
    static func main() async {
        let env = ProcessInfo.processInfo.environment
        let level = env["LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "strata-service-example")
        do {
            try await run(env: env, logger: logger)
        } catch {
            logger.critical("stopped by an error", metadata: ["error": "\(error)"])
            exit(1)
        }
    }

    static func run(env: [String: String], logger: Logger) async throws {
        guard let uri = env["STRATA_URI"], !uri.isEmpty else {
            throw ConfigurationError(message: "STRATA_URI is not set (a MongoDB connection string)")
        }
        let port = Int(env["PORT"] ?? "8080") ?? 8080
        let name = env["STRATA_COLLECTION"] ?? "events"
        let rate = Double(env["STRATA_MIGRATE_RATE"] ?? "") ?? 500
        let every = Double(env["STRATA_MIGRATE_EVERY"] ?? "") ?? 30
        let telemetry = Telemetry(logger: logger)

        let database = MongoDatabase(pool: try MongoPool.shared(uri: uri), name: env["STRATA_DB"] ?? "strata")
        var queryOptions = QueryRunner.Options()
        queryOptions.telemetry = telemetry
        let client = StrataClient(database: database, schemasDirectory: URL(fileURLWithPath: env["STRATA_SCHEMAS"] ?? "schemas"),
                                  options: queryOptions)
        let events = try client.collection(name)
        let stored = database.collection(name)

        // The background jobs.
        let migrator = try MigratorService(collection: stored, lens: events.lens,
                                           options: .init(batchSize: 200, rate: rate, telemetry: telemetry),
                                           schedule: .every(.milliseconds(Int(every * 1000))))
        let histogram = LiveHistogramService(collection: stored, lens: events.lens, options: .init(telemetry: telemetry))

        // The HTTP side.
        let router = Router()
        router.get("histogram") { _, _ -> HistogramBody in
            guard let latest = histogram.latest else { throw HTTPError(.serviceUnavailable, message: "no count yet") }
            let h = latest.histogram
            return HistogramBody(database: h.database, collection: h.collection, versionField: h.versionField, total: h.total,
                                 counts: Dictionary(uniqueKeysWithValues: h.knownVersions.map { (String($0), h.counts[$0] ?? 0) }),
                                 unknownVersions: Dictionary(uniqueKeysWithValues: h.unknownVersions.map { (String($0.key), $0.value) }),
                                 nonInteger: h.nonInteger.reduce(0) { $0 + $1.count }, live: latest.live, at: latest.at)
        }
        router.get("\(name)/count") { request, _ -> CountBody in
            let kind = request.uri.queryParameters["kind"].map(String.init)
            let filter: Document = kind.map { ["kind": .string($0)] } ?? [:]
            return CountBody(collection: name, kind: kind, count: try await events.count(filter))
        }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)),
                              onServerRunning: { channel in
                                  let line = "listening on http://127.0.0.1:\(channel.localAddress?.port ?? port)\n"
                                  FileHandle.standardOutput.write(Data(line.utf8))
                              },
                              logger: logger)

        // Shut down in reverse order: the migrator first (it finishes its batch), then the
        // watch, then the server.
        let group = ServiceGroup(configuration: .init(
            services: [.init(service: app), .init(service: histogram), .init(service: migrator)],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
        try await group.run()
        logger.info("shut down")
    }
}
