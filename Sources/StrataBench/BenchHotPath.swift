import Foundation
import Strata
import StrataBSON
import StrataEvaluator
import StrataLibBSON
import StrataLens
import StrataMongo

/// `strata bench hot-path`: the cost of one library call, in one process. A
/// `VersionedCollection` made once answers a selective query on an indexed field
/// (`{$match: {user: U}}`, U rotating) `calls` times, alternating with the same pipeline
/// run directly on the migrated copy (the ideal), after a warm-up. What it shows: the
/// per-call overhead of planning over the stored versions (the look for unknown versions,
/// one indexed branch per stored version, the read pin), which analytics code calling
/// `count()`/`aggregate()` in a loop pays on every call.
package struct BenchHotPath: Sendable {
    package struct Result: Sendable, Codable {
        package var collection: String
        package var documents: Int
        package var calls: Int
        package var warmup: Int
        package var strataMedianMs: Double
        package var strataP90Ms: Double
        package var directMedianMs: Double
        package var directP90Ms: Double
        /// strata's median over the direct query's.
        package var ratio: Double
        /// The two commands strata cannot do without, sent bare from the same process: the
        /// look for unknown versions (a `find` hinted to `Lens.unknownVersionIndex`) and the
        /// branch's `find` on the mixed collection — no planning, upgrading or pinning. Its
        /// ratio to the direct query bounds what any planner could reach here. nil when the
        /// collection lacks the index.
        package var floorMedianMs: Double?
        package var floorRatio: Double?
        package var readMechanism: String
        package var branches: Int
        /// Commands strata sent per call (its own pool's command monitoring).
        package var commandsPerCall: Double
        /// The commands of the last measured call, in order.
        package var commandsOfLastCall: [String]
    }

    package let database: MongoDatabase
    package let configuration: BenchConfiguration
    package let lens: Lens
    package let log: @Sendable (String) -> Void

    package init(database: MongoDatabase, configuration: BenchConfiguration, lens: Lens, log: @escaping @Sendable (String) -> Void) {
        self.database = database
        self.configuration = configuration
        self.lens = lens
        self.log = log
    }

    package func run(calls: Int, warmup: Int, options: QueryRunner.Options = QueryRunner.Options()) throws -> Result {
        let preparation = try BenchPreparation(database: database, configuration: configuration, lens: lens, log: log).prepare()
        let mixed = database.collection(configuration.mixedCollection)
        let migrated = database.collection(configuration.migratedCollection)
        // strata's calls go through a pool of their own that records every command sent.
        let monitor = CommandMonitor()
        let monitored = MongoDatabase(pool: try MongoPool(uri: database.pool.uri, monitor: monitor), name: database.name)
        let collection = VersionedCollection(database: monitored, lens: lens.describing(collection: mixed.name), options: options)
        let users = try migrated.aggregateAll([["$group": ["_id": "$user"]], ["$sort": ["_id": 1]], ["$limit": 200]]).compactMap { $0["_id"] }
        guard !users.isEmpty else { throw StrataError.badInput("\(migrated.namespace) holds no events") }
        func pipeline(_ i: Int) -> [BSON] { [["$match": ["user": users[i % users.count]]]] }

        let clock = ContinuousClock()
        func time(_ body: () throws -> Void) rethrows -> Double {
            let t = clock.now
            try body()
            return (clock.now - t) / .milliseconds(1)
        }
        var strata: [Double] = [], direct: [Double] = [], floor: [Double] = []
        let plainMixed = database.collection(mixed.name)
        let unknownIndex = try plainMixed.listIndexes().first { index in
            index["partialFilterExpression"].map { ExtendedJSON.string($0, mode: .canonical) }
                == ExtendedJSON.string(.document(lens.unknownVersionIndex.partialFilter), mode: .canonical)
        }?["name"]?.stringValue
        var statistics: QueryRunner.Statistics?
        var commands = 0
        var lastCommands: [String] = []
        for i in 0..<(warmup + calls) {
            let p = pipeline(i)
            var got: [Document] = []
            monitor.reset()
            let s = try time {
                statistics = try collection.aggregate(try ParsedQuery(QuerySpec(collection: mixed.name, pipeline: p))) { got.append($0); return true }
            }
            // The read transaction's end, sent off the call's path, is over before the direct
            // query is timed (and is counted among strata's commands).
            QueryRunner.waitForDeferredReadEnds()
            let sentCommands = monitor.startedCommands.map(\.commandName)
            let sent = sentCommands.count
            lastCommands = sentCommands
            var want: [Document] = []
            let d = try time { want = try migrated.aggregateAll(p) }
            if let difference = ResultComparison.difference(got, want, pipeline: p) {
                throw StrataError(.evaluation, "hot path: strata's answer differs from the migrated copy's for \(ExtendedJSON.string(.array(p))): \(difference)")
            }
            var f: Double?
            if let unknownIndex {
                let look = FindOptions(projection: ["_id": 1], limit: 1, hint: .string(unknownIndex))
                f = try time {
                    _ = try plainMixed.find(lens.unknownVersionIndex.partialFilter, options: look).nextDocument()
                    guard case .document(let match)? = p[0].documentValue?["$match"] else { return }
                    _ = Array(try plainMixed.find(match))
                }
            }
            if i >= warmup { strata.append(s); direct.append(d); commands += sent; if let f { floor.append(f) } }
        }
        func median(_ xs: [Double]) -> Double { let s = xs.sorted(); return s.isEmpty ? 0 : s[s.count / 2] }
        func p90(_ xs: [Double]) -> Double { let s = xs.sorted(); return s.isEmpty ? 0 : s[min(s.count - 1, Int(Double(s.count) * 0.9))] }
        let sm = median(strata), dm = median(direct)
        return Result(collection: mixed.namespace, documents: preparation.documents, calls: calls, warmup: warmup,
                      strataMedianMs: sm, strataP90Ms: p90(strata), directMedianMs: dm, directP90Ms: p90(direct),
                      ratio: dm > 0 ? sm / dm : 0,
                      floorMedianMs: floor.isEmpty ? nil : median(floor),
                      floorRatio: floor.isEmpty || dm == 0 ? nil : median(floor) / dm, readMechanism: statistics?.readMechanism?.rawValue ?? "-",
                      branches: statistics?.branchesRun ?? 0, commandsPerCall: calls > 0 ? Double(commands) / Double(calls) : 0,
                      commandsOfLastCall: lastCommands)
    }
}
