import Foundation
import StrataBSON
import StrataMongo

/// What `strata bench` measured, as JSON (`Codable`) and as a Markdown table.
package struct BenchReport: Sendable, Codable {
    package struct Machine: Sendable, Codable {
        package var cores: Int
        package var loadAverageAtStart: [Double]?
        package var loadAverageAtEnd: [Double]?
    }

    package struct ServerInfo: Sendable, Codable {
        package var version: String?
        package var gitVersion: String?
    }

    package struct DatasetInfo: Sendable, Codable {
        package var name: String
        package var size: Int
        package var dist: String?
        package var seed: Int
        package var database: String
        package var mixedCollection: String
        package var migratedCollection: String
        /// Documents per stored version ("0": 50123, ...).
        package var versions: [String: Int]
        /// Stages of the upgrading aggregate before the query's own (nil: there is none).
        package var upgradingViewStages: Int?
    }

    package struct Settings: Sendable, Codable {
        package var repetitions: Int
        package var warmup: Int
        package var upgradingRepetitions: Int
        package var upgradingWarmup: Int
        package var ways: [String]
        package var specFile: String?
    }

    /// One way of one query.
    package struct WayResult: Sendable, Codable {
        /// "ok", "skipped" or "failed".
        package var status = "ok"
        package var note: String?
        /// Whether every run's answer agreed with the ideal's (nil: nothing to compare with).
        package var agrees: Bool?
        package var difference: String?
        package var seconds: [Double] = []
        package var warmupSeconds: [Double] = []
        package var medianSeconds: Double?
        /// BSON bytes received from the server in the last run.
        package var bytesReceived: Int?
        package var results: Int?
        /// The highest resident memory of the process during any run of this way.
        package var peakRSSBytes: Int?
        /// The resident memory when a run started (the lowest seen).
        package var rssBeforeBytes: Int?
        package var plannerStatistics: BenchPlannerStatistics?
    }

    /// A target of the issue, and whether this query met it.
    package struct Target: Sendable, Codable {
        /// "planner/ideal", "upgrading/planner" or "client-side/planner".
        package var ratio: String
        /// "<=" or ">=".
        package var comparison: String
        package var bound: Double
        package var value: Double?
        /// nil when the ratio could not be computed.
        package var met: Bool?

        package var text: String {
            let v = value.map { BenchReport.ratioText($0) } ?? "n/a"
            let mark = met.map { $0 ? "met" : "MISSED" } ?? "n/a"
            return "\(ratio) \(v) \(comparison) \(BenchReport.ratioText(bound)): \(mark)"
        }
    }

    /// One query, every way.
    package struct QueryResult: Sendable, Codable {
        package var name: String
        package var file: String
        package var description: String?
        package var queryClass: BenchQueryClass
        package var classReason: String
        /// Keyed by `BenchWay.rawValue`.
        package var ways: [String: WayResult] = [:]
        /// "planner/ideal", "upgrading/planner", "client-side/planner": medians divided.
        package var ratios: [String: Double] = [:]
        package var targets: [Target] = []
        /// Every way that ran agreed with the ideal (nil: no ideal answer to compare with).
        package var allAgree: Bool?

        package init(name: String, file: String, description: String?, queryClass: BenchQueryClass, classReason: String) {
            self.name = name
            self.file = file
            self.description = description
            self.queryClass = queryClass
            self.classReason = classReason
        }

        func median(_ way: BenchWay) -> Double? { ways[way.rawValue]?.medianSeconds }

        /// Ratios of medians, the targets of the query's class, and the agreement.
        package mutating func computeRatios() {
            func ratio(_ a: BenchWay, _ b: BenchWay) -> Double? {
                guard let x = median(a), let y = median(b), y > 0 else { return nil }
                return x / y
            }
            let pairs: [(String, BenchWay, BenchWay)] = [("planner/ideal", .planner, .ideal),
                                                         ("upgrading/planner", .upgrading, .planner),
                                                         ("client-side/planner", .clientSide, .planner),
                                                         ("planner/planner-unpinned", .planner, .plannerUnpinned)]
            ratios = [:]
            for (name, a, b) in pairs { if let r = ratio(a, b) { ratios[name] = r } }
            targets = BenchReport.targets(for: queryClass).map { t in
                var t = t
                t.value = ratios[t.ratio]
                t.met = t.value.map { t.comparison == "<=" ? $0 <= t.bound : $0 >= t.bound }
                return t
            }
            let ran = ways.values.filter { $0.status != "skipped" }
            if ways[BenchWay.ideal.rawValue]?.agrees == nil {
                allAgree = nil
            } else {
                allAgree = ran.allSatisfy { $0.agrees == true }
            }
        }
    }

    /// The issue's targets per class of query.
    package static func targets(for queryClass: BenchQueryClass) -> [Target] {
        switch queryClass {
        case .fullScan:
            return [Target(ratio: "planner/ideal", comparison: "<=", bound: 1.25),
                    Target(ratio: "upgrading/planner", comparison: ">=", bound: 5),
                    Target(ratio: "client-side/planner", comparison: ">=", bound: 1.1)]
        case .selective:
            return [Target(ratio: "planner/ideal", comparison: "<=", bound: 3),
                    Target(ratio: "upgrading/planner", comparison: ">=", bound: 1000)]
        case .unclassified:
            return []
        }
    }

    package var startedAt: String
    package var finishedAt: String?
    package var command: String?
    /// "debug" or "release": how strata was compiled.
    package var build: String
    package var server: ServerInfo
    package var machine: Machine
    package var dataset: DatasetInfo
    package var preparation: BenchPreparation.Report
    package var settings: Settings
    package var queries: [QueryResult] = []
    /// strata's peak resident memory over the whole run (preparation included).
    package var peakRSSBytes: Int?
    /// Every query's four answers agreed.
    package var allAgree: Bool?

    package init(startedAt: String, command: String?, build: String, server: ServerInfo, machine: Machine,
                dataset: DatasetInfo, preparation: BenchPreparation.Report, settings: Settings) {
        self.startedAt = startedAt
        self.command = command
        self.build = build
        self.server = server
        self.machine = machine
        self.dataset = dataset
        self.preparation = preparation
        self.settings = settings
    }

    package mutating func finish(peakRSSBytes: Int, loadAverageAtEnd: [Double]?) {
        finishedAt = ISO8601DateFormatter().string(from: Date())
        self.peakRSSBytes = peakRSSBytes
        machine.loadAverageAtEnd = loadAverageAtEnd
        allAgree = queries.allSatisfy { $0.allAgree != false }
    }

    // MARK: environment

    #if DEBUG
    package static let buildConfiguration = "debug"
    #else
    package static let buildConfiguration = "release"
    #endif

    /// The 1, 5 and 15 minute load averages (nil where the system does not say).
    package static func loadAverage() -> [Double]? {
        var loads = [Double](repeating: 0, count: 3)
        guard getloadavg(&loads, 3) == 3 else { return nil }
        return loads.map { ($0 * 100).rounded() / 100 }
    }

    package static func serverInfo(_ database: MongoDatabase) throws -> ServerInfo {
        let info = try database.runCommand(["buildInfo": 1])
        return ServerInfo(version: info["version"]?.stringValue, gitVersion: info["gitVersion"]?.stringValue)
    }

    // MARK: numbers as text

    package static func median(_ xs: [Double]) -> Double? {
        guard !xs.isEmpty else { return nil }
        let s = xs.sorted()
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }

    package static func bytesText(_ n: Int) -> String {
        let x = Double(n)
        if x >= 1e9 { return String(format: "%.2f GB", x / 1e9) }
        if x >= 1e6 { return String(format: "%.1f MB", x / 1e6) }
        if x >= 1e3 { return String(format: "%.1f kB", x / 1e3) }
        return "\(n) B"
    }

    package static func secondsText(_ s: Double) -> String {
        s >= 10 ? String(format: "%.1f s", s) : s >= 1 ? String(format: "%.2f s", s) : String(format: "%.1f ms", s * 1000)
    }

    package static func ratioText(_ r: Double) -> String {
        r >= 100 ? String(format: "%.0f", r) : r >= 10 ? String(format: "%.1f", r) : String(format: "%.2f", r)
    }

    // MARK: output

    /// Pretty-printed JSON with sorted keys.
    package func json() throws -> Data { try Self.json(self) }

    /// `value` as pretty-printed JSON with sorted keys (the reports' form).
    package static func json<T: Encodable>(_ value: T) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(value)
    }

    /// The Markdown report: a header, one table row per query, the targets per row.
    package func markdown() -> String {
        var out = "## strata bench: \(dataset.name), \(dataset.size) documents\n\n"
        let versions = dataset.versions.sorted { (Int($0.key) ?? 0) < (Int($1.key) ?? 0) }
            .map { "v\($0.key): \($0.value)" }.joined(separator: ", ")
        out += "- collections: `\(dataset.database).\(dataset.mixedCollection)` (\(versions)) and `\(dataset.migratedCollection)` (migrated by strata's migrator)\n"
        if let command { out += "- command: `\(command)`\n" }
        out += "- strata \(build) build; server \(server.version ?? "?"); \(machine.cores) cores; load average \(machine.loadAverageAtStart.map { $0.map { String($0) }.joined(separator: " ") } ?? "?") at start\n"
        out += "- medians of \(settings.repetitions) runs per way after \(settings.warmup) warm-up (upgrading: \(settings.upgradingRepetitions) after \(settings.upgradingWarmup)), the ways alternating\n"
        if let peakRSSBytes { out += "- strata's peak memory (whole run): \(Self.bytesText(peakRSSBytes))\n" }
        out += "- answers: " + (allAgree == true ? "all ways agree on every query" : "SOME ANSWERS DIFFER (see the rows)") + "\n\n"

        let ways = settings.ways.compactMap(BenchWay.init(rawValue:))
        var header = ["query", "class"] + ways.map(\.label)
        let unpinned = ways.contains(.plannerUnpinned)
        header += ["planner/ideal", "upgrading/planner", "client-side/planner"] + (unpinned ? ["planner/planner-unpinned"] : []) + ["received (" + ways.map(\.label).joined(separator: " / ") + ")",
                   "peak RSS (planner)", "answers", "targets"]
        var rows = [header, header.map { _ in "---" }]
        for q in queries {
            var row = [q.name, q.queryClass.label]
            for w in ways {
                guard let r = q.ways[w.rawValue] else { row.append("-"); continue }
                switch r.status {
                case "skipped": row.append("skipped")
                case "failed": row.append("failed")
                default: row.append(r.medianSeconds.map(Self.secondsText) ?? "-")
                }
            }
            for name in ["planner/ideal", "upgrading/planner", "client-side/planner"] + (unpinned ? ["planner/planner-unpinned"] : []) {
                row.append(q.ratios[name].map(Self.ratioText) ?? "-")
            }
            row.append(ways.map { q.ways[$0.rawValue]?.bytesReceived.map(Self.bytesText) ?? "-" }.joined(separator: " / "))
            row.append(q.ways[BenchWay.planner.rawValue]?.peakRSSBytes.map(Self.bytesText) ?? "-")
            row.append(q.allAgree.map { $0 ? "agree" : "DIFFER" } ?? "n/a")
            row.append(q.targets.isEmpty ? "none (\(q.queryClass.label))" : q.targets.map(\.text).joined(separator: "; "))
            rows.append(row)
        }
        out += rows.map { "| " + $0.map { $0.replacingOccurrences(of: "|", with: "\\|") }.joined(separator: " | ") + " |" }.joined(separator: "\n") + "\n"

        let notes = queries.flatMap { q in
            q.ways.sorted { $0.key < $1.key }.compactMap { way, r -> String? in
                if let d = r.difference { return "- \(q.name), \(way): \(d)" }
                if r.status != "ok", let n = r.note { return "- \(q.name), \(way) \(r.status): \(n)" }
                return nil
            }
        }
        if !notes.isEmpty { out += "\nNotes:\n\n" + notes.joined(separator: "\n") + "\n" }
        let summary = BenchQueryClass.allCases.compactMap { c -> String? in
            let qs = queries.filter { $0.queryClass == c }
            guard !qs.isEmpty, !Self.targets(for: c).isEmpty else { return nil }
            let parts = Self.targets(for: c).map { t -> String in
                let values = qs.compactMap { $0.ratios[t.ratio] }
                guard let m = Self.median(values) else { return "\(t.ratio): n/a" }
                let met = t.comparison == "<=" ? m <= t.bound : m >= t.bound
                return "\(t.ratio) median \(Self.ratioText(m)) \(t.comparison) \(Self.ratioText(t.bound)) \(met ? "met" : "MISSED")"
            }
            return "- \(c.label) (\(qs.count) queries): " + parts.joined(separator: "; ")
        }
        if !summary.isEmpty { out += "\nTargets over each class (median of the rows' ratios):\n\n" + summary.joined(separator: "\n") + "\n" }
        return out
    }
}
