import Foundation
import Synchronization
import Strata
import StrataBench
import StrataBSON
import StrataTestFixtures
import StrataEvaluator
import StrataLibBSON
import StrataMongo

/// Generates the shared datasets with their own generator (gen.py, vendored
/// verbatim under Tests/Fixtures/datasets from ../shared/datasets) and caches
/// the files per (dataset, count, seed, dist) for the life of the process.
public enum Datasets {
    public static let generator = TestServer.repositoryRoot.appendingPathComponent("Tests/Fixtures/datasets/gen.py")

    /// Generated folders by key; the lock is held while one is generated.
    private static let cache = Mutex<[String: URL]>([:])

    /// The folder holding `<dataset>.mixed.jsonl`, `<dataset>.truth.jsonl` (and `products.jsonl`).
    public static func generate(_ dataset: String, count: Int, seed: Int = 1, dist: String? = nil) throws -> URL {
        let key = "\(dataset)-\(count)-\(seed)-\(dist ?? "default")"
        return try cache.withLock { cache in
            if let url = cache[key] { return url }
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("strata-datasets-\(getpid())/\(key)")
            do {
                try DatasetGenerator.generate(generator, dataset: dataset, count: count, seed: seed, dist: dist, into: dir)
            } catch let e as StrataError {
                throw TestSupportError(e.message)
            }
            cache[key] = dir
            return dir
        }
    }

    /// Reads an Extended JSON lines file.
    public static func readJSONL(_ url: URL) throws -> [Document] {
        let text = try String(contentsOf: url, encoding: .utf8)
        return try text.split(separator: "\n", omittingEmptySubsequences: true).map {
            try ExtendedJSON.parseDocument(String($0))
        }
    }
}
