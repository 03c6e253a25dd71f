import Foundation
import StrataBSON
import StrataLens
import StrataMongo

/// `strata bench memory`: strata's peak resident memory for a `$group` of N events into
/// G groups through the planner — to show that it grows with the groups, not with the
/// documents (the server groups each version; strata merges partial groups).
///
/// The documents are small events spread evenly over the lens's versions (`_id`,
/// `user` = the document's number, the amount in cents at v0 and `{value, currency}`
/// after, the date, the type and region in their shape of each version), inserted in
/// batches of `batch` with `insertMany`. One collection per N (`events_mem_<N>`), kept:
/// a marker in `strata_bench_meta` reuses it when the count is right. The query groups
/// by `user mod G`, so one collection serves every G ≤ N:
///
///     [{$group: {_id: {$mod: ["$user", G]}, n: {$sum: 1}, revenue: {$sum: "$amount.value"}}}]
package struct BenchMemoryMode: Sendable {
    /// One measurement.
    package struct Case: Sendable, Codable {
        package var documents: Int
        package var groups: Int
        package var collection: String
        /// Resident memory when the query started.
        package var rssBeforeBytes: Int?
        /// The highest resident memory during the query (nil without /proc).
        package var peakRSSBytes: Int?
        /// The process's peak over its life (includes anything it did before).
        package var processPeakRSSBytes: Int
        package var seconds: Double
        package var results: Int
        package var bytesReceived: Int
        package var plannerStatistics: BenchPlannerStatistics?
        /// Whether the answer has G groups of N documents in all.
        package var checked: Bool
        /// The query's memory budget (nil: unlimited).
        package var maxMemoryBytes: Int?
        /// Sorted runs written to disk past the budget.
        package var spillRuns: Int?
    }

    package struct Report: Sendable, Codable {
        package var build = BenchReport.buildConfiguration
        package var startedAt = ISO8601DateFormatter().string(from: Date())
        package var command: String?
        package var pipeline: String = BenchMemoryMode.pipelineText
        package var cases: [Case] = []
        /// Seconds spent loading collections (nil: all reused).
        package var loadSeconds: [String: Double] = [:]

        package init(command: String? = nil) { self.command = command }

        package func json() throws -> Data { try BenchReport.json(self) }

        package func markdown() -> String {
            var out = "## strata bench memory: peak RSS of a $group through the planner\n\n"
            if let command { out += "- command: `\(command)`\n" }
            out += "- strata \(build) build; each case in a process of its own where the CLI runs it\n"
            out += "- pipeline: `\(pipeline)`\n\n"
            out += "| documents | groups | budget | spill runs | peak RSS during the query | RSS before | growth | process peak | time | received | answer |\n"
            out += "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |\n"
            for c in cases {
                let growth = zip2(c.peakRSSBytes, c.rssBeforeBytes).map { BenchReport.bytesText(max(0, $0 - $1)) } ?? "-"
                out += "| \(c.documents) | \(c.groups) | \(c.maxMemoryBytes.map(BenchReport.bytesText) ?? "unlimited") | \(c.spillRuns.map(String.init) ?? "-") | \(c.peakRSSBytes.map(BenchReport.bytesText) ?? "-") | "
                    + "\(c.rssBeforeBytes.map(BenchReport.bytesText) ?? "-") | \(growth) | \(BenchReport.bytesText(c.processPeakRSSBytes)) | "
                    + "\(BenchReport.secondsText(c.seconds)) | \(BenchReport.bytesText(c.bytesReceived)) | \(c.checked ? "checked" : "WRONG") |\n"
            }
            if let big = cases.first(where: { $0.documents == 1_000_000 && $0.groups == 100_000 }), let p = big.peakRSSBytes {
                out += "\nTarget: 1M documents into 100k groups under 150 MB: \(BenchReport.bytesText(p)), \(p < 150_000_000 ? "met" : "MISSED")\n"
            }
            if let big = cases.first(where: { $0.documents == 1_000_000 && $0.groups == 1_000_000 && $0.maxMemoryBytes == 256 << 20 }),
               let p = big.peakRSSBytes {
                out += "\nTarget: 1M documents into 1M groups under 300 MB at the default budget: \(BenchReport.bytesText(p)), \(p < 300_000_000 ? "met" : "MISSED")\n"
            }
            return out
        }

        func zip2(_ a: Int?, _ b: Int?) -> (Int, Int)? {
            guard let a, let b else { return nil }
            return (a, b)
        }
    }

    /// The (documents, groups) pairs the issue asks about.
    package static let defaultCases: [(documents: Int, groups: Int)] =
        [(100_000, 100_000), (1_000_000, 10_000), (1_000_000, 100_000)]

    static let pipelineText = #"[{"$group": {"_id": {"$mod": ["$user", G]}, "n": {"$sum": 1}, "revenue": {"$sum": "$amount.value"}}}]"#

    package let database: MongoDatabase
    /// The events lens (any collection name: it is re-aimed at each memory collection).
    package let lens: Lens
    package var batch = 10_000
    package let log: @Sendable (String) -> Void

    package init(database: MongoDatabase, lens: Lens, batch: Int = 10_000, log: @escaping @Sendable (String) -> Void = { _ in }) {
        self.database = database
        self.lens = lens
        self.batch = batch
        self.log = log
    }

    package static func collectionName(documents: Int) -> String { "events_mem_\(documents)" }

    package static func pipeline(groups: Int) -> [BSON] {
        [["$group": ["_id": ["$mod": ["$user", .int64(Int64(groups))]], "n": ["$sum": 1], "revenue": ["$sum": "$amount.value"]]]]
    }

    /// Makes `events_mem_<documents>` unless it is there with that many documents;
    /// returns the seconds spent loading (nil: reused).
    @discardableResult
    package func prepare(documents: Int) throws -> Double? {
        let name = Self.collectionName(documents: documents)
        let meta = database.collection(BenchPreparation.metaCollection)
        let collection = database.collection(name)
        if let marker = try meta.findOne(["_id": .string(name)]), marker["documents"]?.exactInt == Int64(documents),
           try database.runCommand(["count": .string(name)])["n"]?.exactInt == Int64(documents)
        {
            log("reusing \(database.name).\(name)")
            return nil
        }
        try meta.delete(["_id": .string(name)])
        try collection.drop()
        let clock = ContinuousClock()
        let start = clock.now
        var lastLog = start
        var i = 0
        while i < documents {
            let end = min(documents, i + batch)
            _ = try collection.insertMany((i..<end).map(Self.event), ordered: false)
            i = end
            if clock.now - lastLog > .seconds(10) {
                lastLog = clock.now
                let s = BenchPreparation.seconds(clock.now - start)
                log(String(format: "  inserted %d of %d (%.0f documents/s)", i, documents, Double(i) / s))
            }
        }
        let seconds = BenchPreparation.seconds(clock.now - start)
        log(String(format: "loaded %d documents into %@ in %.1f s (%.0f documents/s)", documents, name, seconds, Double(documents) / seconds))
        try meta.insertOne(["_id": .string(name), "documents": .int64(Int64(documents))])
        return seconds
    }

    static let kinds = ["View", "Click", "Purchase", "Share", "Login"]
    static let regions = ["eu-west", "eu-central", "us-east", "us-west", "ap-south"]

    /// Event number `i`, stored at version `i % 4` in that version's shape (events lens).
    static func event(_ i: Int) -> Document {
        let version = i % 4
        let cents = Int64((i * 7919) % 10_000)
        let date = BSON.date(1_704_067_200_000 + Int64(i) * 60_000)
        let kind = kinds[i % kinds.count], region = regions[(i / 7) % regions.count]
        var d: Document = ["_id": .int64(Int64(i))]
        if version > 0 { d["v"] = .int32(Int32(version)) }
        d["user"] = .int64(Int64(i))
        d[version >= 2 ? "at" : "ts"] = date
        if version == 0 {
            d["amountCents"] = .int64(cents)
        } else {
            d["amount"] = ["value": .double(Double(cents) / 100), "currency": "USD"]
        }
        if version == 3 {
            d["kind"] = .string(kind.lowercased())
            d["geo"] = ["region": .string(region)]
        } else {
            d["type"] = .string(kind)
            d["region"] = .string(region)
        }
        return d
    }

    /// Runs the group through the planner once and measures this process's memory.
    /// The collection must exist (`prepare`).
    package func measure(documents: Int, groups: Int, maxMemoryBytes: Int? = 256 << 20) throws -> Case {
        let name = Self.collectionName(documents: documents)
        let ways = BenchWays(database: database, lens: lens.describing(collection: name), migratedCollection: name)
        let query = BenchQuery(name: "memory-\(documents)-\(groups)", file: "memory", description: nil,
                               pipeline: Self.pipeline(groups: groups), queryClass: .fullScan, classReason: "memory mode")
        let clock = ContinuousClock()
        let start = clock.now
        // The groups are counted and summed as they stream out, not kept: the peak is strata's.
        var results = 0
        var total: Int64 = 0
        let (statistics, peak) = try BenchMemory.measure {
            try ways.planner(query, maxMemoryBytes: maxMemoryBytes) { row in
                results += 1
                total += row["n"]?.exactInt ?? 0
            }
        }
        let seconds = BenchPreparation.seconds(clock.now - start)
        let checked = results == min(groups, documents) && total == Int64(documents)
        log(String(format: "%d documents into %d groups: %.2f s, peak RSS %@ (before %@), %d groups received %@",
                   documents, groups, seconds, peak.peakBytes.map(BenchReport.bytesText) ?? "?",
                   peak.beforeBytes.map(BenchReport.bytesText) ?? "?", results, BenchReport.bytesText(statistics.bytesReceived)))
        return Case(documents: documents, groups: groups, collection: name, rssBeforeBytes: peak.beforeBytes,
                    peakRSSBytes: peak.peakBytes, processPeakRSSBytes: BenchMemory.lifetimePeakBytes, seconds: seconds,
                    results: results, bytesReceived: statistics.bytesReceived,
                    plannerStatistics: statistics, checked: checked, maxMemoryBytes: maxMemoryBytes, spillRuns: statistics.spillRuns)
    }
}
