/// What the planner knows of the server's costs, where that changes the best exact plan
/// (the answers never depend on it). `ServerProfile.of(_:)` tells the server apart.
///
/// SecantusDB (the embedded default) evaluates aggregation expressions and sorts in
/// Python, one document at a time, and plans indexes for filters only (measured on
/// 200,000 events): a full-scan `$group` per version, with the lens's conversions as
/// expressions, took 1.5–2× the same `$group` on the migrated copy, while fetching
/// the needed fields of every document and grouping in Swift took less than that
/// `$group` itself; `$sort` + `$limit` never reads an index in order (a sorted fetch
/// of 10 documents on an indexed field took as long as sorting them all). mongod runs
/// expressions in C++, on several cores, and walks an index in sort order.
public struct ServerProfile: Sendable, Equatable, CustomStringConvertible {
    public var name: String
    /// A pipeline that reads every document is cheaper fetched (only the needed
    /// fields) and evaluated in Swift than grouped per version on the server.
    public var streamsFullScans: Bool
    /// `$sort` (+ `$limit`) can be served in index order, so per-version sorted
    /// fetches beat one fetch sorted in Swift.
    public var sortsWithIndexes: Bool
    /// A fetch's projection to the needed fields costs the server less than sending
    /// whole documents. SecantusDB projects in Python: the needed 6 of 8 fields of
    /// 200,000 events took 7.2–8.3 s by `find` with a projection, 6.3–6.7 s without.
    public var projectsFetches: Bool

    public init(name: String, streamsFullScans: Bool, sortsWithIndexes: Bool, projectsFetches: Bool = true) {
        self.name = name
        self.streamsFullScans = streamsFullScans
        self.sortsWithIndexes = sortsWithIndexes
        self.projectsFetches = projectsFetches
    }

    public static let mongod = ServerProfile(name: "mongod", streamsFullScans: false, sortsWithIndexes: true, projectsFetches: true)
    public static let secantus = ServerProfile(name: "SecantusDB", streamsFullScans: true, sortsWithIndexes: false, projectsFetches: false)

    public var description: String { name }
}
