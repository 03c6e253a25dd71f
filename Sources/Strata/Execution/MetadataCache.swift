import Foundation
import StrataBSON
import StrataMongo
import Synchronization

/// What strata asks the server before planning and may keep between queries, because it
/// shapes the plan but never decides the answer: a collection's index list (which
/// branches an index serves; strata sends no hints, so a stale list gives a slower plan,
/// never a wrong one) and the server's capabilities (`ReadMechanism.detect`,
/// `ServerProfile.of`, each cached per process and URI where they live).
///
/// The index list is kept per URI, database and collection for `ttl` seconds
/// (`QueryRunner.Options.metadataTTL`, default 30; 0: ask every query). It is dropped
/// early by the events that show it stale: strata creating indexes (`LensIndexPlan.create`)
/// and any server error during a query, which also drops the URI's capabilities (a server
/// that was a replica set and is now a standalone refuses the pin it was detected to offer).
/// The look for documents at unknown versions is never cached: it runs every query.
package enum MetadataCache {
    private struct Entry {
        var indexes: [Document]
        var fetched: ContinuousClock.Instant
    }

    private static let entries = Mutex<[String: Entry]>([:])

    static func key(_ collection: MongoCollection) -> String {
        collection.database.pool.uri + "|" + collection.namespace
    }

    /// `collection`'s indexes, from the cache when younger than `ttl` seconds.
    package static func indexes(_ collection: MongoCollection, ttl: Double) throws -> [Document] {
        guard ttl > 0 else { return try collection.listIndexes() }
        let k = key(collection), now = ContinuousClock.now
        if let e = entries.withLock({ $0[k] }), now - e.fetched < .milliseconds(Int64(ttl * 1000)) { return e.indexes }
        let listed = try collection.listIndexes()
        entries.withLock { $0[k] = Entry(indexes: listed, fetched: now) }
        return listed
    }

    /// Forgets `collection`'s indexes (strata created some, or an error showed them stale).
    package static func invalidate(_ collection: MongoCollection) {
        _ = entries.withLock { $0.removeValue(forKey: key(collection)) }
    }

    /// Forgets everything kept for `collection` and its server: its indexes and the
    /// server's detected read mechanism and profile.
    package static func invalidateAfterError(_ collection: MongoCollection) {
        invalidate(collection)
        ReadMechanism.forgetDetection(collection.database)
        ServerProfile.forget(collection.database)
    }
}
