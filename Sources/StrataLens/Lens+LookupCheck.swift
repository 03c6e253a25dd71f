import Foundation
import StrataEvaluator

extension Lens {
    /// This lens with each `lookup` whose `from` has a lens file of its own in `directory`
    /// bound to that lens (`LookupOperation.foreign`): the upgrade then reads the foreign
    /// documents as if migrated, not as stored. Refused (`.badInput`, naming the place): a
    /// lookup into the collection this lens describes (an upgrade would read documents
    /// being upgraded), and one into a collection whose own lens looks up a versioned
    /// collection in turn (one level of versioned lookups).
    ///
    /// Call it where the schemas folder is known: `StrataClient.collection` and the
    /// CLI's `SchemaOptions.lens(for:)`.
    package func bindingLookups(schemasDirectory directory: URL) throws -> Lens {
        let versioned = Lens.versionedCollections(in: directory)
        var bound: [LensStep] = []
        for step in steps {
            var operations: [any LensOperation] = []
            for operation in step.operations {
                guard var lookup = operation as? LookupOperation, versioned.contains(lookup.from) else {
                    operations.append(operation)
                    continue
                }
                if lookup.from == collection {
                    throw StrataError.badInput(
                        "lookup into '\(lookup.from)', the collection this lens describes: an upgrade would read documents that are being upgraded; "
                            + "look up another collection", at: lookup.location.appending("from"))
                }
                let foreign = try Lens.load(collection: lookup.from, schemasDirectory: directory)
                if let inner = foreign.steps.flatMap(\.operations).compactMap({ $0 as? LookupOperation }).first(where: { versioned.contains($0.from) }) {
                    throw StrataError.badInput(
                        "lookup into '\(lookup.from)', whose own lens looks up '\(inner.from)' (\(inner.location)), which has a lens too: "
                            + "one level of lookups into versioned collections is supported", at: lookup.location.appending("from"))
                }
                lookup.foreign = foreign
                operations.append(lookup)
            }
            bound.append(LensStep(from: step.from, operations: operations, writeBack: step.writeBack, down: step.down, location: step.location))
        }
        var lens = Lens(collection: collection, versionField: versionField, absentMeans: absentMeans, steps: bound,
                        indexes: indexes, source: source)
        lens.warnings = warnings
        return lens
    }

    /// The collections with a lens file in `directory` (`<name>.json`), as
    /// `StrataClient.versionedCollections()` lists them.
    package static func versionedCollections(in directory: URL) -> Set<String> {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return Set(files.compactMap(collection(ofLensFile:)))
    }

    /// The collection a file of the lens folder describes (`events.json` → `events`); nil
    /// for a file that is not a lens: not `.json`, or a JSON Schema (`lens.schema.json`,
    /// the lens format's own schema, kept beside the lenses for editors).
    package static func collection(ofLensFile name: String) -> String? {
        guard name.hasSuffix(".json"), !name.hasSuffix(".schema.json") else { return nil }
        return String(name.dropLast(5))
    }
}
