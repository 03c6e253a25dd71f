import Foundation
import StrataBSON
import StrataLens
import StrataEvaluator
import StrataMongo

/// Runs the benchmark: prepares the collections, then times every query four ways,
/// alternating between the ways within each round (the order rotates from round to
/// round), and checks that the four answers agree.
///
/// Per way and query: `warmup` unmeasured runs, then `repetitions` measured ones (the
/// upgrading aggregate: `upgradingWarmup` and `upgradingRepetitions`, and only from the
/// first measured round on, so it never runs cold while the others warm up). Every run's
/// answer is compared with the ideal's first (`ResultComparison`); the peak RSS of every
/// run is measured (`BenchMemory`).
package struct BenchRunner: Sendable {
    package let database: MongoDatabase
    package let configuration: BenchConfiguration
    package let log: @Sendable (String) -> Void

    package init(database: MongoDatabase, configuration: BenchConfiguration, log: @escaping @Sendable (String) -> Void = { _ in }) {
        self.database = database
        self.configuration = configuration
        self.log = log
    }

    /// Prepares (or reuses) the collections and runs every query.
    package func run(command: String? = nil) throws -> BenchReport {
        try configuration.validate()
        let startedAt = Date()
        let loadStart = BenchReport.loadAverage()
        let baseLens = try Lens.load(collection: configuration.dataset, schemasDirectory: configuration.schemasDirectory)
        let lens = baseLens.describing(collection: configuration.mixedCollection)
        let spec = try configuration.specFile.map(BenchQuerySpec.load)
        let queries = try BenchQuery.load(configuration.queryFiles, dataset: configuration.dataset, spec: spec)

        let preparation = try BenchPreparation(database: database, configuration: configuration, lens: lens, log: log).prepare()
        let lensFiles = (try? FileManager.default.contentsOfDirectory(atPath: configuration.schemasDirectory.path)) ?? []
        let ways = BenchWays(database: database, lens: lens, migratedCollection: configuration.migratedCollection,
                             versionedCollections: Set(lensFiles.compactMap(Lens.collection(ofLensFile:))))

        var report = BenchReport(
            startedAt: ISO8601DateFormatter().string(from: startedAt), command: command, build: BenchReport.buildConfiguration,
            server: try BenchReport.serverInfo(database),
            machine: BenchReport.Machine(cores: ProcessInfo.processInfo.activeProcessorCount, loadAverageAtStart: loadStart),
            dataset: BenchReport.DatasetInfo(name: configuration.dataset, size: configuration.size, dist: configuration.dist,
                                             seed: configuration.seed, database: database.name,
                                             mixedCollection: configuration.mixedCollection,
                                             migratedCollection: configuration.migratedCollection,
                                             versions: preparation.versions, upgradingViewStages: ways.viewStages?.count),
            preparation: preparation,
            settings: BenchReport.Settings(repetitions: configuration.repetitions, warmup: configuration.warmup,
                                           upgradingRepetitions: configuration.upgradingRepetitions,
                                           upgradingWarmup: configuration.upgradingWarmup,
                                           ways: configuration.ways.map(\.rawValue), specFile: spec?.file))
        for (i, query) in queries.enumerated() {
            log("[\(i + 1)/\(queries.count)] \(query.name)")
            report.queries.append(try measure(query, ways: ways))
        }
        report.finish(peakRSSBytes: BenchMemory.lifetimePeakBytes, loadAverageAtEnd: BenchReport.loadAverage())
        return report
    }

    /// Times one query every way.
    func measure(_ query: BenchQuery, ways: BenchWays) throws -> BenchReport.QueryResult {
        var result = BenchReport.QueryResult(name: query.name, file: query.file, description: query.description,
                                             queryClass: query.queryClass, classReason: query.classReason)
        var states: [BenchWay: WayState] = [:]
        for way in configuration.ways {
            var s = WayState()
            if let why = ways.unavailable(way) { s.skipped = why }
            states[way] = s
        }
        var reference: [Document]?
        // Round r runs each way once, in an order rotated by r: the others in rounds
        // 0..<warmup+repetitions, the upgrading aggregate in rounds warmup..<warmup+its runs.
        let otherRounds = configuration.warmup + configuration.repetitions
        let upgradingRuns = configuration.upgradingWarmup + configuration.upgradingRepetitions
        let rounds = max(otherRounds, configuration.warmup + upgradingRuns)
        for round in 0..<rounds {
            for way in Self.rotated(configuration.ways, by: round) {
                var s = states[way]!
                defer { states[way] = s }
                guard s.skipped == nil, s.failure == nil else { continue }
                let runsNow = way == .upgrading
                    ? round >= configuration.warmup && round < configuration.warmup + upgradingRuns
                    : round < otherRounds
                guard runsNow else { continue }
                let warm = way == .upgrading ? s.runs < configuration.upgradingWarmup : s.runs < configuration.warmup
                let clock = ContinuousClock()
                let start = clock.now
                let (outcome, peak) = BenchMemory.measure { Result { try ways.run(way, query) } }
                let seconds = BenchPreparation.seconds(clock.now - start)
                s.runs += 1
                switch outcome {
                case .failure(let error):
                    s.failure = "\(error)"
                    log("  \(way.label): failed: \(error)")
                case .success(let answer):
                    if warm { s.warmupSeconds.append(seconds) } else { s.seconds.append(seconds) }
                    s.bytes = answer.bytesReceived
                    s.resultCount = answer.results.count
                    if let p = peak.peakBytes { s.peak = max(s.peak ?? 0, p) }
                    if let b = peak.beforeBytes { s.before = min(s.before ?? b, b) }
                    if let st = answer.plannerStatistics { s.statistics = st }
                    if way == .ideal && reference == nil { reference = answer.results }
                    if way != .ideal { s.answers.append(answer.results) }
                    log(String(format: "  %@%@ %.3f s, %d results, %@ received", way.label, warm ? " (warm-up)" : "", seconds,
                               answer.results.count, BenchReport.bytesText(answer.bytesReceived)))
                }
                if let reference { s.compare(with: reference, pipeline: query.pipeline) }
            }
        }
        for way in configuration.ways {
            var s = states[way]!
            if let reference { s.compare(with: reference, pipeline: query.pipeline) }
            result.ways[way.rawValue] = s.report(way, hasReference: reference != nil)
        }
        result.computeRatios()
        return result
    }

    static func rotated(_ ways: [BenchWay], by n: Int) -> [BenchWay] {
        guard !ways.isEmpty else { return ways }
        let k = n % ways.count
        return Array(ways[k...] + ways[..<k])
    }

    /// The runs of one way for one query, as they accumulate.
    struct WayState {
        var skipped: String?
        var failure: String?
        var runs = 0
        var seconds: [Double] = []
        var warmupSeconds: [Double] = []
        var bytes: Int?
        var resultCount: Int?
        var peak: Int?
        var before: Int?
        var statistics: BenchPlannerStatistics?
        /// Answers not compared yet (waiting for the ideal's).
        var answers: [[Document]] = []
        var compared = 0
        var difference: String?

        /// Compares the answers kept so far with the ideal's (and forgets them).
        mutating func compare(with reference: [Document], pipeline: [BSON]) {
            for a in answers where difference == nil {
                difference = ResultComparison.difference(a, reference, pipeline: pipeline).map { "differs from the ideal: \($0)" }
            }
            compared += answers.count
            answers = []
        }

        func report(_ way: BenchWay, hasReference: Bool) -> BenchReport.WayResult {
            var r = BenchReport.WayResult()
            if let skipped {
                r.status = "skipped"
                r.note = skipped
                return r
            }
            if let failure {
                r.status = "failed"
                r.note = failure
                r.agrees = false
            }
            r.seconds = seconds
            r.warmupSeconds = warmupSeconds
            r.medianSeconds = BenchReport.median(seconds)
            r.bytesReceived = bytes
            r.results = resultCount
            r.peakRSSBytes = peak
            r.rssBeforeBytes = before
            r.plannerStatistics = statistics
            if failure == nil {
                if way == .ideal {
                    r.agrees = hasReference ? true : nil
                } else if hasReference {
                    r.agrees = difference == nil && compared > 0
                    r.difference = difference
                }
            }
            return r
        }
    }
}
