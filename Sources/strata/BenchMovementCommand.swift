import StrataBench
import ArgumentParser
import Foundation
import Strata

/// `strata bench movement`: the catalog's queries answered while writers move documents
/// between versions, under each plan family; answers right, wrong, refused; moves/s.
struct BenchMovementCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "movement",
        abstract: "Run the catalog's queries repeatedly while writers move documents between versions; count answers right, wrong and refused.",
        discussion: """
            Generates events and devices (gen.py), loads each mixed collection and its \
            migrated truth into the database (dropping them first) with the indexes \
            'strata index' creates, then starts writers that replace random documents with \
            their newest or their original stored form — the logical content never \
            changes, so every answer must stay the truth. Meanwhile each configuration \
            runs every events and devices query over and over for --seconds: SecantusDB's \
            own plans, the mongod plans (STRATA_SERVER_PROFILE=mongod: partial groups and \
            per-version branches on the server), the single-cursor plan, and, with \
            --best-effort, the mongod plans with reads not pinned (expected to be wrong \
            sometimes: that is what --consistency snapshot prevents). Exit status 6 when an \
            answer of a pinned configuration is wrong.
            """
    )

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var schemas: SchemaOptions

    @Option(help: ArgumentHelp("Seconds each configuration runs its queries.", valueName: "s"))
    var seconds: Double = 60

    @Option(help: ArgumentHelp("Events generated.", valueName: "n"))
    var events = 1500

    @Option(help: ArgumentHelp("Devices generated.", valueName: "n"))
    var devices = 600

    @Option(help: ArgumentHelp("Writer threads.", valueName: "n"))
    var writers = 4

    @Flag(help: "Also run the mongod plans with reads not pinned (--consistency best-effort), as a control.")
    var bestEffort = false

    @Option(help: ArgumentHelp("The folder of query files.", valueName: "dir"))
    var queries = "queries"

    @OptionGroup var datasets: GeneratorOptions

    @OptionGroup var output: BenchOutputOptions

    func validate() throws {
        if seconds <= 0 { throw ValidationError("--seconds must be positive") }
        if events < 1 || devices < 1 { throw ValidationError("--events and --devices must be at least 1") }
        if writers < 1 { throw ValidationError("--writers must be at least 1") }
    }

    func run() throws {
        let log: (String) -> Void = { FileHandle.standardError.write(Data(("bench movement: " + $0 + "\n").utf8)) }
        let schemasURL = URL(fileURLWithPath: schemas.directory, isDirectory: true)
        let report = try connection.resolve().run { db -> MovementStress.Report in
            var stress = try MovementStress.prepare(
                database: db, datasets: [("events", events), ("devices", devices)], generator: datasets.generatorURL,
                workDirectory: datasets.workDirectoryURL, schemasDirectory: schemasURL,
                queriesDirectory: URL(fileURLWithPath: queries, isDirectory: true), log: log)
            stress.writers = writers
            var configurations: [MovementStress.Configuration] = [
                .init(name: "SecantusDB plans", options: .init()),
                .init(name: "mongod plans", options: .init(profile: .mongod)),
                .init(name: "single cursor", options: .init(profile: .mongod, readMechanism: .singleCursor),
                      skipping: MovementStress.swiftEvaluationDivergences),
            ]
            if bestEffort {
                configurations.append(.init(name: "mongod plans, best-effort (control)", options: .init(profile: .mongod, consistency: .bestEffort)))
            }
            return try stress.run(configurations, secondsEach: seconds, database: db, truth: { spec in
                try db.collection(spec.collection + "_truth").aggregateAll(spec.pipeline)
            }, log: log)
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try output.write(json: try encoder.encode(report), markdown: report.markdown(command: commandLineText))
        if report.outcomes.contains(where: { !$0.configuration.contains("control") && $0.wrong > 0 }) {
            throw ExitCode(6)
        }
    }
}
