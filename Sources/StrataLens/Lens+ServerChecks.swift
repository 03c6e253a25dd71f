import StrataBSON
import StrataEvaluator

/// A document a `convert` with `onError: "skip"` leaves out: it is not in any answer
/// (the Swift upgrade throws this; server branches filter the same documents out).
package struct DocumentSkipped: Error, Sendable, CustomStringConvertible {
    package var id: BSON?
    package var location: Location
    package var message: String
    package var description: String { "\(location): \(message)" }
}

extension Lens {
    /// What a server branch over documents stored at `version` must check when it reads
    /// them without running the upgrade stages (translated or materialized), right after
    /// its leading `$match`:
    /// - a `convert` with `onError: "skip"` leaves the documents whose conversion rejects
    ///   out of every answer: a `$match`, whatever the query reads;
    /// - an operation that decides a path the query reads (`reads`, newest-schema paths;
    ///   nil: all of them) refuses what its guards refuse, with the Swift upgrade's words:
    ///   a stage that fails on such a document.
    /// Each condition is written over the stored document (`translate(_:beforeOperation:atVersion:)`);
    /// nil when one cannot be, and the branch must run the upgrade itself.
    package func serverChecks(forVersion version: Int, reads: Set<[String]>?) -> [BSON]? {
        let ops = operations(from: version)
        let deciding: Set<Int>
        if let reads {
            guard let inputs = inputs(for: reads, atVersion: version) else { return nil }
            deciding = Set(inputs.deciding)
        } else {
            deciding = Set(ops.indices)
        }
        // In the operations' order, as Swift meets them: an operation's guards, then its skip.
        var stages: [BSON] = []
        for (i, op) in ops.enumerated() {
            if deciding.contains(i), !op.guards.isEmpty {
                guard let check = op.guardCheck(id: .fieldPath(["_id"]), rewrite: { $0 }, translate: {
                    translate($0, beforeOperation: i, atVersion: version)
                }) else { return nil }
                // A `$match` (it copies no document): true unless the chain fails the aggregation.
                stages.append(["$match": ["$expr": ["$ifNull": .array([check.bson, true])]]])
            }
            if let c = op as? ConvertOperation, c.onError == .skip, let test = c.failureTest {
                guard let condition = translate(c.over(test), beforeOperation: i, atVersion: version) else { return nil }
                stages.append(["$match": ["$expr": .document(["$not": .array([condition.bson])])]])
            }
        }
        return stages
    }
}
