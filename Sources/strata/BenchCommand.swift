import ArgumentParser
import Foundation
import Strata
import StrataBench
import StrataEvaluator
import StrataMongo

/// `strata bench`: strata's planner against the alternatives, on the same server in one run.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Time queries four ways (ideal, upgrading aggregate, planner, client-side) over a generated mixed-version collection; measure strata's memory for a large $group; or count right answers while documents move.",
        subcommands: [BenchRunCommand.self, BenchMemoryCommand.self, BenchMovementCommand.self, BenchHotPathCommand.self],
        defaultSubcommand: BenchRunCommand.self
    )
}

/// Log lines go to stderr, so stdout holds only the report.
private let logToStderr: @Sendable (String) -> Void = { line in
    FileHandle.standardError.write(Data(("bench: " + line + "\n").utf8))
}

/// `--json OUT` and `--markdown OUT`, for both reports.
struct BenchOutputOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Write the report as JSON here ('-': stdout).", valueName: "out.json"))
    var json: String?

    @Option(help: ArgumentHelp("Write the Markdown table here. Default: stdout (unless --json -).", valueName: "out.md"))
    var markdown: String?

    func validate() throws {
        if json == "-" && markdown == "-" { throw ValidationError("--json - and --markdown - cannot both go to stdout") }
    }

    /// The JSON where --json says; the table where --markdown says, else on stdout (unless the JSON is there).
    func write(json data: @autoclosure () throws -> Data, markdown table: String) throws {
        if let json { try Self.write(try data(), to: json) }
        if let markdown {
            try Self.write(Data(table.utf8), to: markdown)
        } else if json != "-" {
            writeOut(table)
        }
    }

    /// Writes `data` to `path` (creating its folder), or to stdout for `-`.
    static func write(_ data: Data, to path: String) throws {
        if path == "-" { return FileHandle.standardOutput.write(data) }
        let url = URL(fileURLWithPath: path)
        do {
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try data.write(to: url)
        } catch {
            throw StrataError.badInput("cannot write: \(error.localizedDescription)", at: Location(file: path))
        }
    }
}

/// `--generator` and `--work-directory`: where datasets come from and are kept.
struct GeneratorOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The dataset generator.", valueName: "gen.py"))
    var generator = "Tests/Fixtures/datasets/gen.py"

    @Option(help: ArgumentHelp("Where generated datasets are kept.", valueName: "dir"))
    var workDirectory = "bench/tmp"

    var generatorURL: URL { URL(fileURLWithPath: generator) }
    var workDirectoryURL: URL { URL(fileURLWithPath: workDirectory, isDirectory: true) }
}

/// The command line as typed, for the reports people keep and commit: the password of a
/// connection string in it is replaced by `***`.
var commandLineText: String {
    MongoPool.redactingCredentials(in: (["strata"] + CommandLine.arguments.dropFirst())
        .map { $0.contains(" ") ? "'\($0)'" : $0 }.joined(separator: " "))
}

struct BenchRunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Time every query four ways, alternating, and check that the four answers agree (the default of 'strata bench').",
        discussion: """
            Generates the dataset (gen.py) once per size, mix and seed (kept in bench/tmp), \
            imports it twice: the mixed collection <dataset>_<size> and a copy that strata's \
            own migrator moves to the newest version (<dataset>_<size>_migrated). The mixed \
            collection gets the indexes 'strata index' creates; the copy gets the lens's \
            declared indexes. --reuse keeps both when a previous run prepared them with the \
            same size, mix and seed.

            The ways: ideal (the pipeline on the migrated copy), upgrading (one aggregate \
            on the mixed collection: the lens's upgrade stages, made conditional on each \
            document's version, then the pipeline — what a view does), planner (strata), \
            client-side (every document fetched, upgraded in Swift, the pipeline run by \
            strata's evaluator). Within each round every way runs once, in an order that \
            rotates. Medians, ratios, bytes received and peak memory go to the Markdown \
            table (stdout unless --markdown) and to --json.

            Query classes (for the targets): bench/queries.json lists which query is a \
            full-scan group-by and which a selective filter on an indexed field; a query it \
            does not list is a full scan when it has no leading $match, else unclassified.
            """
    )

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var schemas: SchemaOptions

    @Option(help: ArgumentHelp("The generator's dataset, and the lens of the same name.", valueName: "name"))
    var dataset = "events"

    @Option(help: ArgumentHelp("Documents in the mixed collection.", valueName: "n"))
    var size = 200_000

    @Option(help: ArgumentHelp("Percent of documents at each version, oldest first (the generator's --dist). Default: the generator's.",
                               valueName: "p0,p1,..."))
    var dist: String?

    @Option(help: ArgumentHelp("The generator's seed.", valueName: "n"))
    var seed = 1

    @Option(help: ArgumentHelp("Measured runs per way and query.", valueName: "n"))
    var repetitions = 5

    @Option(help: ArgumentHelp("Unmeasured runs per way and query before the measured ones.", valueName: "n"))
    var warmup = 1

    @Option(help: ArgumentHelp("Measured runs of the upgrading aggregate (it reads every document through every upgrade stage: ~25 s a run at 200k).",
                               valueName: "n"))
    var upgradingRepetitions = 1

    @Option(help: ArgumentHelp("Unmeasured runs of the upgrading aggregate.", valueName: "n"))
    var upgradingWarmup = 0

    @Option(help: ArgumentHelp("The ways to run, comma-separated: ideal,upgrading,planner,client-side, and planner-unpinned (the planner with --consistency best-effort: what consistent reads cost).", valueName: "list"))
    var ways = "ideal,upgrading,planner,client-side"

    @Option(name: .customLong("query"), help: ArgumentHelp("A query file (repeatable). Default: every query in queries/ over the dataset's collection.", valueName: "file"))
    var queries: [String] = []

    @Option(help: ArgumentHelp("Which query counts for which target. Default: bench/queries.json when it exists.", valueName: "file"))
    var spec: String?

    @OptionGroup var output: BenchOutputOptions

    @Flag(help: "Reuse the collections when a previous run prepared them with this dataset, size, mix and seed.")
    var reuse = false

    @OptionGroup var datasets: GeneratorOptions

    func validate() throws {
        for name in ways.split(separator: ",") where BenchWay(label: String(name).trimmingCharacters(in: .whitespaces)) == nil {
            throw ValidationError("--ways: '\(name)' is not a way (ideal, upgrading, planner, client-side, planner-unpinned)")
        }
    }

    func configuration() throws -> BenchConfiguration {
        var c = BenchConfiguration()
        c.dataset = dataset
        c.size = size
        c.dist = dist
        c.seed = seed
        c.repetitions = repetitions
        c.warmup = warmup
        c.upgradingRepetitions = upgradingRepetitions
        c.upgradingWarmup = upgradingWarmup
        c.ways = ways.split(separator: ",").compactMap { BenchWay(label: String($0).trimmingCharacters(in: .whitespaces)) }
        c.reuse = reuse
        c.schemasDirectory = URL(fileURLWithPath: schemas.directory, isDirectory: true)
        c.generator = datasets.generatorURL
        c.workDirectory = datasets.workDirectoryURL
        c.queryFiles = queries.isEmpty ? try BenchConfiguration.defaultQueries(dataset: dataset) : queries.map { URL(fileURLWithPath: $0) }
        if let spec {
            c.specFile = URL(fileURLWithPath: spec)
        } else if FileManager.default.fileExists(atPath: "bench/queries.json") {
            c.specFile = URL(fileURLWithPath: "bench/queries.json")
        }
        return c
    }

    func run() throws {
        let configuration = try configuration()
        let report = try connection.resolve().run { db in
            try BenchRunner(database: db, configuration: configuration, log: logToStderr).run(command: commandLineText)
        }
        try output.write(json: report.json(), markdown: report.markdown())
        if report.allAgree == false { throw StrataError.badInput("some answers differ between the ways (see the report)") }
    }
}

struct BenchMemoryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "memory",
        abstract: "strata's peak memory for a $group of N events into G groups through the planner, for several N and G.",
        discussion: """
            Loads small events spread over the lens's four versions into events_mem_<N> \
            (kept for the next run), then runs [{$group: {_id: {$mod: ["$user", G]}, ...}}] \
            through the planner and reads the process's peak resident memory (VmHWM, reset \
            before the query). Each case runs in a process of its own, so one case's memory \
            does not count for the next. Default cases: 100k documents into 100k groups, \
            1M into 10k, 1M into 100k.
            """
    )

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var schemas: SchemaOptions

    @Option(name: .customLong("case"), help: ArgumentHelp("A case, documents:groups (repeatable). Default: 100000:100000, 1000000:10000, 1000000:100000.",
                                                          valueName: "n:g"))
    var cases: [String] = []

    @Option(help: ArgumentHelp("One case's documents (with --groups).", valueName: "n"))
    var docs: Int?

    @Option(help: ArgumentHelp("One case's groups (with --docs).", valueName: "g"))
    var groups: Int?

    @Option(help: ArgumentHelp("Documents per insertMany when loading.", valueName: "n"))
    var batch = 10_000

    @Flag(help: "Measure every case in this process (after loading), not one process each.")
    var inProcess = false

    @Flag(help: .hidden)
    var emitCase = false

    @Option(name: .customLong("max-memory"), help: ArgumentHelp(
        "The query's memory budget, as strata run's --max-memory (repeatable: each case runs at each budget). Default: 256MB.",
        valueName: "size"))
    var maxMemory: [String] = []

    @OptionGroup var output: BenchOutputOptions

    /// The budgets to run each case at (nil: unlimited).
    func budgets() throws -> [Int?] {
        if maxMemory.isEmpty { return [MemoryBudget.defaultLimitBytes] }
        return try maxMemory.map { text in
            if text.lowercased() == "unlimited" { return nil }
            guard let b = MemoryBudget.parseSize(text) else { throw ValidationError("--max-memory takes a size such as 256MB, or unlimited; got '\(text)'") }
            return b
        }
    }

    func parsedCases() throws -> [(documents: Int, groups: Int)] {
        var out: [(documents: Int, groups: Int)] = try cases.map { text in
            let parts = text.split(separator: ":").map { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard parts.count == 2, let n = parts[0], let g = parts[1], n >= 1, g >= 1 else {
                throw ValidationError("--case '\(text)': expected documents:groups, two positive integers")
            }
            return (n, g)
        }
        if docs != nil || groups != nil {
            guard let docs, let groups, docs >= 1, groups >= 1 else { throw ValidationError("--docs and --groups go together, both positive") }
            out.append((docs, groups))
        }
        return out.isEmpty ? BenchMemoryMode.defaultCases : out
    }

    func validate() throws {
        _ = try parsedCases()
        _ = try budgets()
    }

    func run() throws {
        let cases = try parsedCases()
        let budgets = try budgets()
        let connection = try self.connection.resolve()
        let lens = try schemas.lens(for: "events")
        if emitCase {
            // A child of the parent run: the collection is loaded; measure, print one JSON line.
            let c = try connection.run { db in
                try BenchMemoryMode(database: db, lens: lens, batch: batch, log: logToStderr)
                    .measure(documents: cases[0].documents, groups: cases[0].groups, maxMemoryBytes: budgets[0])
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            writeOut(String(decoding: try encoder.encode(c), as: UTF8.self) + "\n")
            return
        }
        var report = BenchMemoryMode.Report(command: commandLineText)
        try connection.run { db in
            let mode = BenchMemoryMode(database: db, lens: lens, batch: batch, log: logToStderr)
            for n in Set(cases.map(\.documents)).sorted() {
                if let s = try mode.prepare(documents: n) { report.loadSeconds[String(n)] = s }
            }
            for (n, g) in cases {
                for budget in budgets {
                    report.cases.append(inProcess ? try mode.measure(documents: n, groups: g, maxMemoryBytes: budget)
                                                  : try child(n, g, budget, connection))
                }
            }
        }
        try output.write(json: report.json(), markdown: report.markdown())
        if report.cases.contains(where: { !$0.checked }) { throw StrataError.badInput("a memory case gave a wrong answer (see the report)") }
    }

    /// Runs one case in a fresh `strata bench memory --emit-case` and reads its JSON line.
    func child(_ documents: Int, _ groups: Int, _ budget: Int?, _ connection: Connection) throws -> BenchMemoryMode.Case {
        let (status, data) = try Subprocess.run(
            URL(fileURLWithPath: Bundle.main.executablePath ?? CommandLine.arguments[0]),
            ["bench", "memory", "--emit-case", "--docs", String(documents), "--groups", String(groups),
             "--max-memory", budget.map(String.init) ?? "unlimited",
             "--uri", connection.uri, "--db", connection.databaseName, "--schemas", schemas.directory],
            capture: .standardOutput)
        guard status == 0 else {
            throw StrataError.unsupported("the memory case \(documents):\(groups) failed in its own process (exit \(status))")
        }
        do {
            return try JSONDecoder().decode(BenchMemoryMode.Case.self, from: data)
        } catch {
            throw StrataError.unsupported("the memory case \(documents):\(groups) printed no report: \(String(decoding: data, as: UTF8.self))")
        }
    }
}

struct BenchHotPathCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hot-path",
        abstract: "The cost of one library call in one process: a selective indexed query through strata against the same query on the migrated copy.",
        discussion: """
            Prepares <dataset>_<size> and its migrated copy as 'strata bench run' does \
            (--reuse keeps them), makes one VersionedCollection, then runs \
            [{$match: {user: U}}] (U rotating over 200 users) --calls times through it, each \
            call followed by the same pipeline directly on the migrated copy, after --warmup \
            unmeasured calls; every answer is compared. Prints medians, 90th percentiles, \
            their ratio and the commands strata sent per call (the end of the read \
            transaction is sent after the answer, off the call's path, and counted), and the \
            floor: the two commands strata cannot do without (the look for unknown versions \
            and the branch's find) sent bare.
            """
    )

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var schemas: SchemaOptions

    @Option(help: ArgumentHelp("Events in the mixed collection.", valueName: "n"))
    var size = 50_000

    @Option(help: ArgumentHelp("Measured calls of each.", valueName: "n"))
    var calls = 300

    @Option(help: ArgumentHelp("Unmeasured calls of each first.", valueName: "n"))
    var warmup = 30

    @Flag(help: "Reuse the collections when a previous run prepared them with this size.")
    var reuse = false

    @Flag(help: "Print the result as one JSON object.")
    var json = false

    @Option(help: ArgumentHelp("snapshot (the default: the look and the branches pinned to one state) or best-effort (unpinned: what the pin costs).",
                               valueName: "snapshot|best-effort"))
    var consistency: Consistency = .snapshot

    @OptionGroup var datasets: GeneratorOptions

    func validate() throws {
        guard calls >= 1, warmup >= 0, size >= 100 else { throw ValidationError("--calls must be at least 1, --warmup not negative, --size at least 100") }
    }

    func run() throws {
        var c = BenchConfiguration()
        c.dataset = "events"
        c.size = size
        c.reuse = reuse
        c.schemasDirectory = URL(fileURLWithPath: schemas.directory, isDirectory: true)
        c.generator = datasets.generatorURL
        c.workDirectory = datasets.workDirectoryURL
        let lens = try schemas.lens(for: "events")
        let result = try connection.resolve().run { db in
            try BenchHotPath(database: db, configuration: c, lens: lens, log: logToStderr)
                .run(calls: calls, warmup: warmup, options: QueryRunner.Options(consistency: consistency))
        }
        if json {
            let data = try JSONEncoder().encode(result)
            writeOut(String(decoding: data, as: UTF8.self) + "\n")
            return
        }
        writeOut(String(format: """
            %@ (%d events), %d calls after %d warm-up, read mechanism %@, %d branches, %.1f commands a call (%@)
              strata (VersionedCollection.aggregate): median %.2f ms, p90 %.2f ms
              direct on the migrated copy:            median %.2f ms, p90 %.2f ms
              ratio (medians): %.2f×

            """, result.collection, result.documents, result.calls, result.warmup, result.readMechanism, result.branches,
            result.commandsPerCall, result.commandsOfLastCall.joined(separator: ", "), result.strataMedianMs, result.strataP90Ms, result.directMedianMs, result.directP90Ms, result.ratio))
        if let floor = result.floorMedianMs, let ratio = result.floorRatio {
            writeOut(String(format: """
                  floor (the look and the branch's find, sent bare): median %.2f ms, %.2f× the direct query

                """, floor, ratio))
        }
    }
}
