import Foundation
import StrataBSON
import StrataEvaluator

/// How the documents of one collection change from version to version: the
/// version field, the version its absence means, and one `LensStep` per pair
/// of consecutive versions. Loaded from `schemas/<collection>.json`.
public struct Lens: Sendable {
    /// The collection this lens describes.
    public let collection: String
    /// The field that holds a document's schema version.
    public let versionField: String
    /// The version of a document without the version field.
    public let absentMeans: Int
    /// `steps[i]` upgrades version `oldest + i` to `oldest + i + 1`.
    public let steps: [LensStep]
    /// Indexes declared on the newest schema.
    public let indexes: [IndexDeclaration]
    /// The file it came from, for messages.
    public let source: String?
    /// What the lint at load found that may be a mistake (see `LensLint`), worded for a user.
    public internal(set) var warnings: [StrataError] = []

    public init(collection: String, versionField: String, absentMeans: Int, steps: [LensStep],
                indexes: [IndexDeclaration] = [], source: String? = nil) {
        self.collection = collection
        self.versionField = versionField
        self.absentMeans = absentMeans
        self.steps = steps
        self.indexes = indexes
        self.source = source
    }

    /// The oldest version the lens knows.
    public var oldest: Int { steps.first?.from ?? absentMeans }
    /// The newest version: what every document becomes.
    public var newest: Int { steps.last?.to ?? absentMeans }
    /// Every version the lens knows, oldest first.
    public var knownVersions: ClosedRange<Int> { oldest...newest }
}

/// One index the lens file declares on the newest schema.
public struct IndexDeclaration: Sendable, Equatable {
    public var keys: Document
    public var name: String?
    public var unique: Bool
    public init(keys: Document, name: String? = nil, unique: Bool = false) {
        self.keys = keys
        self.name = name
        self.unique = unique
    }
}
