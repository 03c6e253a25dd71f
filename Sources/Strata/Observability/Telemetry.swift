import CoreMetrics
import Foundation
import Logging

/// Where strata's logs and metrics go: a swift-log `Logger` (default: one that discards)
/// and a swift-metrics factory (default: `nil`, the process's `MetricsSystem.factory`, so an
/// application that bootstraps a metrics backend gets strata's metrics with no setup).
///
/// Every long-lived part takes one in its options: `QueryRunner.Options` (and so
/// `StrataClient`/`VersionedCollection`), `VersionedRepository.Options`,
/// `Migrator.Options`, `LiveHistogram.Options`. The metric names and labels are
/// `StrataMetrics`'; the README lists them with what each log line says.
public struct Telemetry: Sendable {
    public var logger: Logger
    /// The metrics backend; `nil`: `MetricsSystem.factory` at the time of use.
    public var metrics: (any MetricsFactory)?

    public init(logger: Logger = Telemetry.silentLogger, metrics: (any MetricsFactory)? = nil) {
        self.logger = logger
        self.metrics = metrics
    }

    /// A logger that discards everything: the library is quiet unless given one.
    public static let silentLogger = Logger(label: "strata", factory: { _ in SwiftLogNoOpLogHandler() })

    var factory: any MetricsFactory { metrics ?? MetricsSystem.factory }

    func counter(_ label: String, _ dimensions: [(String, String)]) -> Counter {
        Counter(label: label, dimensions: dimensions, factory: factory)
    }

    func gauge(_ label: String, _ dimensions: [(String, String)]) -> Gauge {
        Gauge(label: label, dimensions: dimensions, factory: factory)
    }

    func recorder(_ label: String, _ dimensions: [(String, String)]) -> Recorder {
        Recorder(label: label, dimensions: dimensions, aggregate: true, factory: factory)
    }

    func timer(_ label: String, _ dimensions: [(String, String)]) -> CoreMetrics.Timer {
        CoreMetrics.Timer(label: label, dimensions: dimensions, factory: factory)
    }
}

/// The metrics strata records: stable names and labels (documented in the README).
public enum StrataMetrics {
    /// Timer: one query, from planning to its last result. Labels: `collection`, `strategy`
    /// (`QueryPlan.strategyName`: `server`, `partial-groups`, `documents`, ...).
    public static let queryDuration = "strata_query_duration_seconds"
    /// Recorder: the per-version branches one query ran. Labels: `collection`.
    public static let queryBranches = "strata_query_branches"
    /// Counter: queries strata refused to answer (`unsupported`: no exact plan). Labels: `collection`.
    public static let queryRefusals = "strata_query_refusals_total"
    /// Counter: documents upgraded in Swift as they were read (queries and the repository).
    /// Labels: `collection`, `from_version`.
    public static let upgradesOnRead = "strata_upgrades_on_read_total"
    /// Counter: upgraded documents written back on read (`VersionedRepository`). Labels:
    /// `collection`, `outcome` (`written`: replaced; `conflict`: changed meanwhile, left as it was).
    public static let writeBacks = "strata_write_backs_total"
    /// Counter: the migrator's documents. Labels: `collection`, `outcome` (`migrated`,
    /// `skipped` — changed under it, retried —, `failed`, `already_done`), `direction`
    /// (`up`, or `down` for a rollback; only with `migrated`).
    public static let migratorDocuments = "strata_migrator_documents_total"
    /// Gauge: documents stored at each version (the live histogram). Labels: `collection`,
    /// `version` (the number, or `unknown` for versions the lens does not know).
    public static let documents = "strata_documents"
}
