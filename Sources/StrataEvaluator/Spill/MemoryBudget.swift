import Synchronization

/// What one query may hold in memory for its blocking work (the partial-group merge,
/// Swift-side `$group`, `$sort`), and where it spills past that.
///
/// One budget is shared by every blocking operator of a query (`ExecutionContext.memory`):
/// each reports what it holds (`charge`/`release`), and an operator whose charge takes the
/// total past `limitBytes` writes its state to a sorted run on disk (`SpillDirectory`)
/// and releases it. Sizes are estimates (`BSON.estimatedBytes`), so the process's peak is
/// the budget plus a fixed overhead (the runtime, buffers, one run's read-back).
package final class MemoryBudget: Sendable {
    /// 256 MB: what `--max-memory` defaults to.
    package static let defaultLimitBytes = 256 * 1024 * 1024

    package let limitBytes: Int
    /// Where spill directories go (nil: `TMPDIR`, else /tmp).
    package let spillBase: String?
    /// The least an operator holds before it writes a run (64 KB by default), so one past
    /// the budget because of another's holdings writes no tiny runs; tests lower it.
    package let minimumRunBytes: Int
    /// Runs an operator keeps before merging them into one (each open while merging).
    package static let maxRuns = 32
    private let held = Atomic<Int>(0)
    private let spills = Atomic<Int>(0)

    package init(limitBytes: Int = MemoryBudget.defaultLimitBytes, spillBase: String? = nil, minimumRunBytes: Int = 64 * 1024) {
        self.limitBytes = limitBytes
        self.spillBase = spillBase
        self.minimumRunBytes = minimumRunBytes
    }

    /// Whether an operator holding `heldBytes`, after a charge that put the query past the
    /// limit (`charge` returned true), should write a run: it holds a sixteenth of the
    /// budget, and at least `minimumRunBytes`.
    package func shouldSpill(holding heldBytes: Int) -> Bool {
        heldBytes >= max(limitBytes / 16, minimumRunBytes)
    }

    /// Adds `bytes` to what the query holds; true when the total is now past the limit
    /// (the caller should spill).
    package func charge(_ bytes: Int) -> Bool {
        held.add(bytes, ordering: .relaxed).newValue > limitBytes
    }

    /// Takes `bytes` off what the query holds (after a spill, or when an operator is done).
    package func release(_ bytes: Int) {
        held.subtract(bytes, ordering: .relaxed)
    }

    /// What the query holds now, by the estimates.
    package var heldBytes: Int { held.load(ordering: .relaxed) }

    /// Runs written so far by every operator of the query.
    package var runsWritten: Int { spills.load(ordering: .relaxed) }

    package func noteRunWritten() { spills.add(1, ordering: .relaxed) }

    /// Parses a size: a whole number of bytes, or with a unit `KB`, `MB`, `GB` (powers of
    /// 1024; case-insensitive; `K`/`M`/`G` alike). nil when it is not one.
    package static func parseSize(_ text: String) -> Int? {
        let t = String(text.filter { $0 != " " }).uppercased()
        let units: [(String, Int)] = [("KB", 1 << 10), ("MB", 1 << 20), ("GB", 1 << 30), ("K", 1 << 10), ("M", 1 << 20), ("G", 1 << 30), ("B", 1)]
        for (suffix, factor) in units where t.hasSuffix(suffix) {
            guard let n = Int(t.dropLast(suffix.count)), n >= 0 else { return nil }
            return n.multipliedReportingOverflow(by: factor).overflow ? nil : n * factor
        }
        return Int(t).flatMap { $0 >= 0 ? $0 : nil }
    }
}
