import Foundation
import StrataEvaluator

extension Lens {
    /// Refuses a `lookup` operation whose `from` collection has a lens of its own
    /// (`versionedCollections`: the collections with a lens file next to this one,
    /// this lens's own collection included). The upgrade reads the foreign documents
    /// as they are stored, at whatever version each sits, not upgraded to that
    /// collection's newest schema: a correct lens would give wrong answers and wrong
    /// migrations. A query's `$lookup` into a versioned collection is refused the same way.
    ///
    /// Call it where the schemas folder is known: `StrataClient.collection` and the
    /// CLI's `SchemaOptions.lens(for:)`.
    package func checkLookups(versionedCollections: Set<String>) throws {
        for step in steps {
            for case let lookup as LookupOperation in step.operations where versionedCollections.contains(lookup.from) {
                let which = lookup.from == collection
                    ? "'\(lookup.from)', the collection this lens describes"
                    : "'\(lookup.from)', which has a lens of its own (\(lookup.from).json next to this one)"
                throw StrataError.badInput(
                    "lookup into \(which): its documents would be read as stored, at whatever version each sits, "
                        + "not upgraded to its newest schema, so answers and migrations could be silently wrong. "
                        + "Refused until lens lookups read upgraded documents; look up a collection without a lens, "
                        + "or migrate '\(lookup.from)' and remove its lens first",
                    at: lookup.location.appending("from"))
            }
        }
    }

    /// The collections with a lens file in `directory` (`<name>.json`), as
    /// `StrataClient.versionedCollections()` lists them.
    package static func versionedCollections(in directory: URL) -> Set<String> {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return Set(files.filter { $0.hasSuffix(".json") }.map { String($0.dropLast(5)) })
    }
}
