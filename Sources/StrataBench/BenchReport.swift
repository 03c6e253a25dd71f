import Foundation
import StrataBSON
import StrataMongo

/// What `strata bench` measured, as JSON (`Codable`) and as a Markdown table.
public struct BenchReport: Sendable, Codable {
    public struct Machine: Sendable, Codable {
        public var cores: Int
        public var loadAverageAtStart: [Double]?
        public var loadAverageAtEnd: [Double]?
    }

    public struct ServerInfo: Sendable, Codable {
        public var version: String?
        public var gitVersion: String?
    }

    public struct DatasetInfo: Sendable, Codable {
        public var name: String
        public var size: Int
        public var dist: String?
        public var seed: Int
        public var database: String
        public var mixedCollection: String
        public var migratedCollection: String
        /// Documents per stored version ("0": 50123, ...).
        public var versions: [String: Int]
        /// Stages of the upgrading aggregate before the query's own (nil: there is none).
        public var upgradingViewStages: Int?
    }

    public struct Settings: Sendable, Codable {
        public var repetitions: Int
        public var warmup: Int
        public var upgradingRepetitions: Int
        public var upgradingWarmup: Int
        public var ways: [String]
        public var specFile: String?
    }

    /// One way of one query.
    public struct WayResult: Sendable, Codable {
        /// "ok", "skipped" or "failed".
        public var status = "ok"
        public var note: String?
        /// Whether every run's answer agreed with the ideal's (nil: nothing to compare with).
        public var agrees: Bool?
        public var difference: String?
        public var seconds: [Double] = []
        public var warmupSeconds: [Double] = []
        public var medianSeconds: Double?
        /// BSON bytes received from the server in the last run.
        public var bytesReceived: Int?
        public var results: Int?
        /// The highest resident memory of the process during any run of this way.
        public var peakRSSBytes: Int?
        /// The resident memory when a run started (the lowest seen).
        public var rssBeforeBytes: Int?
        public var plannerStatistics: BenchPlannerStatistics?
    }

    /// A target of the issue, and whether this query met it.
    public struct Target: Sendable, Codable {
        /// "planner/ideal", "upgrading/planner" or "client-side/planner".
        public var ratio: String
        /// "<=" or ">=".
        public var comparison: String
        public var bound: Double
        public var value: Double?
        /// nil when the ratio could not be computed.
        public var met: Bool?

        public var text: String {
            let v = value.map { BenchReport.ratioText($0) } ?? "n/a"
            let mark = met.map { $0 ? "met" : "MISSED" } ?? "n/a"
            return "\(ratio) \(v) \(comparison) \(BenchReport.ratioText(bound)): \(mark)"
        }
    }

    /// One query, every way.
    public struct QueryResult: Sendable, Codable {
        public var name: String
        public var file: String
        public var description: String?
        public var queryClass: BenchQueryClass
        public var classReason: String
        /// Keyed by `BenchWay.rawValue`.
        public var ways: [String: WayResult] = [:]
        /// "planner/ideal", "upgrading/planner", "client-side/planner": medians divided.
        public var ratios: [String: Double] = [:]
        public var targets: [Target] = []
        /// Every way that ran agreed with the ideal (nil: no ideal answer to compare with).
        public var allAgree: Bool?

        public init(name: String, file: String, description: String?, queryClass: BenchQueryClass, classReason: String) {
            self.name = name
            self.file = file
            self.description = description
            self.queryClass = queryClass
            self.classReason = classReason
        }

        func median(_ way: BenchWay) -> Double? { ways[way.rawValue]?.medianSeconds }

        /// Ratios of medians, the targets of the query's class, and the agreement.
        public mutating func computeRatios() {
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
    public static func targets(for queryClass: BenchQueryClass) -> [Target] {
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

    public var startedAt: String
    public var finishedAt: String?
    public var command: String?
    /// "debug" or "release": how strata was compiled.
    public var build: String
    public var server: ServerInfo
    public var machine: Machine
    public var dataset: DatasetInfo
    public var preparation: BenchPreparation.Report
    public var settings: Settings
    public var queries: [QueryResult] = []
    /// strata's peak resident memory over the whole run (preparation included).
    public var peakRSSBytes: Int?
    /// Every query's four answers agreed.
    public var allAgree: Bool?

    public init(startedAt: String, command: String?, build: String, server: ServerInfo, machine: Machine,
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

    public mutating func finish(peakRSSBytes: Int, loadAverageAtEnd: [Double]?) {
        finishedAt = ISO8601DateFormatter().string(from: Date())
        self.peakRSSBytes = peakRSSBytes
        machine.loadAverageAtEnd = loadAverageAtEnd
        allAgree = queries.allSatisfy { $0.allAgree != false }
    }

    // MARK: environment

    #if DEBUG
    public static let buildConfiguration = "debug"
    #else
    public static let buildConfiguration = "release"
    #endif

    /// The 1, 5 and 15 minute load averages (nil where the system does not say).
    public static func loadAverage() -> [Double]? {
        var loads = [Double](repeating: 0, count: 3)
        guard getloadavg(&loads, 3) == 3 else { return nil }
        return loads.map { ($0 * 100).rounded() / 100 }
    }

    public static func serverInfo(_ database: MongoDatabase) throws -> ServerInfo {
        let info = try database.runCommand(["buildInfo": 1])
        return ServerInfo(version: info["version"]?.stringValue, gitVersion: info["gitVersion"]?.stringValue)
    }

    // MARK: numbers as text

    public static func median(_ xs: [Double]) -> Double? {
        guard !xs.isEmpty else { return nil }
        let s = xs.sorted()
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }

    public static func bytesText(_ n: Int) -> String {
        let x = Double(n)
        if x >= 1e9 { return String(format: "%.2f GB", x / 1e9) }
        if x >= 1e6 { return String(format: "%.1f MB", x / 1e6) }
        if x >= 1e3 { return String(format: "%.1f kB", x / 1e3) }
        return "\(n) B"
    }

    public static func secondsText(_ s: Double) -> String {
        s >= 10 ? String(format: "%.1f s", s) : s >= 1 ? String(format: "%.2f s", s) : String(format: "%.1f ms", s * 1000)
    }

    public static func ratioText(_ r: Double) -> String {
        r >= 100 ? String(format: "%.0f", r) : r >= 10 ? String(format: "%.1f", r) : String(format: "%.2f", r)
    }

    // MARK: output

    /// Pretty-printed JSON with sorted keys.
    public func json() throws -> Data { try Self.json(self) }

    /// `value` as pretty-printed JSON with sorted keys (the reports' form).
    public static func json<T: Encodable>(_ value: T) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(value)
    }

    /// The Markdown report: a header, one table row per query, the targets per row.
    public func markdown() -> String {
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
