import Foundation
import StrataBSON
import StrataEvaluator
import StrataLibBSON

extension Lens {
    /// Loads `<directory>/<collection>.json`.
    public static func load(collection: String, schemasDirectory: URL) throws -> Lens {
        let url = schemasDirectory.appendingPathComponent(collection + ".json")
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw StrataError.badInput(
                "no lens for collection '\(collection)': \(url.path) does not exist (pass --schemas DIR, or write the file; see README \"The lens file\")")
        }
        let lens = try load(contentsOf: url)
        guard lens.collection == collection else {
            throw StrataError.badInput("the file describes collection '\(lens.collection)', not '\(collection)'",
                                       at: Location(file: url.path, path: "collection"))
        }
        return lens
    }

    /// Loads and validates one lens file.
    public static func load(contentsOf url: URL) throws -> Lens {
        let text: String
        do { text = try String(contentsOf: url, encoding: .utf8) } catch {
            throw StrataError.badInput("cannot read the lens file: \(error.localizedDescription)", at: Location(file: url.path))
        }
        return try parse(text, file: url.path)
    }

    /// Parses lens JSON text; `file` is used in messages.
    public static func parse(_ text: String, file: String? = nil) throws -> Lens {
        let root = Location(file: file)
        let doc: Document
        do { doc = try ExtendedJSON.parseQueryDocument(text) } catch {
            throw StrataError.badInput("not valid JSON: \(error)", at: root)
        }
        return try LensParser(file: file).lens(from: doc)
    }
}
