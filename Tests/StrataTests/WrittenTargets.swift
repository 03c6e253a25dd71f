import Foundation
import Strata
import StrataBSON
import StrataEvaluator
import StrataMongo

/// Comparing what a pipeline ending in `$out`/`$merge` leaves in its target: strata's
/// run over the mixed collection against the server's own run of the same pipeline
/// (retargeted) over the migrated truth.
enum WrittenTargets {
    /// `pipeline` with its final `$out`/`$merge` writing into `collection` (of `database`,
    /// when given) instead; everything else as written.
    static func retarget(_ pipeline: [BSON], to collection: String, database: String? = nil) -> [BSON] {
        guard let (name, spec) = pipeline.last?.singleField else { return pipeline }
        let into: BSON = database.map { ["db": .string($0), "coll": .string(collection)] } ?? .string(collection)
        var stage: BSON
        switch (name, spec) {
        case ("$out", _):
            stage = ["$out": database.map { ["db": .string($0), "coll": .string(collection)] } ?? .string(collection)]
        case ("$merge", .document(var d)):
            d["into"] = into
            stage = ["$merge": .document(d)]
        case ("$merge", _):
            stage = ["$merge": ["into": into]]
        default:
            return pipeline
        }
        return Array(pipeline.dropLast()) + [stage]
    }

    /// Every document of `collection`; with `stripObjectIds`, an ObjectId `_id` (one the
    /// server or driver generated for a result without `_id`) is left out, so two runs'
    /// documents compare by their contents.
    static func contents(_ collection: MongoCollection, stripObjectIds: Bool = false) throws -> [Document] {
        try collection.find([:], options: FindOptions(sort: ["_id": 1])).all().map { doc in
            guard stripObjectIds, case .objectId? = doc["_id"] else { return doc }
            var d = doc
            d.removeValue(forKey: "_id")
            return d
        }
    }

    /// nil when the two collections hold the same documents (as unordered maps, doubles
    /// within 1e-9, in any order); else what differs.
    static func difference(_ got: MongoCollection, _ want: MongoCollection, stripObjectIds: Bool = false) throws -> String? {
        ResultComparison.difference(try contents(got, stripObjectIds: stripObjectIds), try contents(want, stripObjectIds: stripObjectIds),
                                    pipeline: [["$out": "unordered"]])
    }

    /// The names of the temporary collections strata left in `database` (none, ever).
    static func leftovers(_ database: MongoDatabase) throws -> [String] {
        try database.listCollectionNames().filter { $0.hasPrefix("tmp.strata") }
    }
}
