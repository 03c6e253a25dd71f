import StrataBSON
import StrataEvaluator
import StrataMongo

/// What one sample branch can draw from: its matching documents, counted on the server
/// (and drawn by the server's `$sample`), or listed by `_id`.
enum SamplePopulation {
    /// The fetch selects exactly the matching documents; this many of them.
    case counted(fetch: [BSON], count: Int)
    /// The stored `_id`s of the matching documents (sorted by `_id` with a seed, so that
    /// a seeded choice does not depend on the server's order).
    case ids([BSON])

    var count: Int {
        switch self {
        case .counted(_, let n): return n
        case .ids(let ids): return ids.count
        }
    }
}

/// Runs a sample plan (`QueryPlan.Sample`). Every read goes through the attempt's pinned
/// database (`collection`), so the counts describe the very documents drawn from; a
/// query started again at a fresh snapshot draws again (with a seed, the same way).
extension QueryExecution {
    /// How many stored `_id`s one fetch by `_id` asks for.
    static let idsPerFetch = 1000

    func runSample(_ plan: QueryPlan.Sample, output: (Document) throws -> Bool) throws {
        var rng = SampleRandom(seed: options.sampleSeed, place: plan.location.path)
        var populations: [SamplePopulation] = []
        for branch in plan.branches {
            guard case .documents(let fetch) = branch.command else { continue }
            statistics.branchesRun += 1
            if branch.versions.contains(where: plan.sampledInSwift.contains) {
                populations.append(.ids(try matchingIdsInSwift(branch, fetch: fetch, sorted: rng.isSeeded)))
            } else if rng.isSeeded {
                // The server's `$sample` cannot be seeded: a seeded choice is made in Swift.
                populations.append(.ids(try matchingIds(fetch, sorted: true)))
            } else {
                populations.append(.counted(fetch: fetch, count: try count(fetch)))
            }
        }
        let total = populations.reduce(0) { $0 + $1.count }
        let shares = Sampling.multivariateHypergeometric(counts: populations.map(\.count), draws: Int(min(Int64(total), plan.size)),
                                                         using: &rng)
        var drawn: [Document] = []
        for (population, k) in zip(populations, shares) where k > 0 {
            drawn += try draw(k, from: population, using: &rng)
        }
        // Each version's share came in its own order, one version after another.
        Sampling.shuffle(&drawn, using: &rng)
        try runMergerStages(plan.mergerStages, over: drawn, output: output)
    }

    /// `k` of the population's documents, uniformly, upgraded.
    func draw(_ k: Int, from population: SamplePopulation, using rng: inout SampleRandom) throws -> [Document] {
        switch population {
        case .counted(let fetch, _):
            if let docs = try serverSample(fetch, k) { return docs }
            // The server's sample was not k distinct documents: choose from the `_id`s.
            return try draw(k, from: .ids(try matchingIds(fetch, sorted: rng.isSeeded)), using: &rng)
        case .ids(var ids):
            Sampling.chooseToFront(k, of: &ids, using: &rng)
            return try fetchUpgraded(ids: Array(ids.prefix(k)))
        }
    }

    /// How many documents `fetch` selects.
    func count(_ fetch: [BSON]) throws -> Int {
        let cursor = try collection.aggregate(fetch + [["$count": "n"]], options: ["allowDiskUse": true])
        let n = try cursor.nextDocument()?["n"]?.exactInt ?? 0
        statistics.bytesReceived += cursor.bytesReceived
        return Int(n)
    }

    /// The `_id`s of the documents `fetch` selects (in `_id` order when `sorted`).
    func matchingIds(_ fetch: [BSON], sorted: Bool) throws -> [BSON] {
        let cursor = try openDocuments(fetch + [["$project": ["_id": 1]]])
        var ids: [BSON] = []
        while let doc = try cursor.nextDocument() { ids.append(doc["_id"] ?? .null) }
        statistics.bytesReceived += cursor.bytesReceived
        if sorted { ids.sort { BSONOrder.compare($0, $1) < 0 } }
        return ids
    }

    /// The stored `_id`s of the documents `fetch` returns whose upgrade passes the
    /// branch's Swift stages (the leading filter); documents the lens skips are left out.
    func matchingIdsInSwift(_ branch: Branch, fetch: [BSON], sorted: Bool) throws -> [BSON] {
        let cursor = try openDocuments(fetch)
        var passed = false
        // The leading `$match` stages, where they stand in the pipeline (errors name them).
        let filter = try swiftPipeline(branch.swiftStages, at: Location(path: "pipeline")).makeStream { _ in
            passed = true
            return true
        }
        var ids: [BSON] = []
        while let doc = try nextStoredAndUpgraded(cursor) {
            passed = false
            _ = try filter.push(doc.upgraded)
            if passed { ids.append(doc.stored["_id"] ?? .null) }
        }
        try filter.finish()
        statistics.bytesReceived += cursor.bytesReceived
        if sorted { ids.sort { BSONOrder.compare($0, $1) < 0 } }
        return ids
    }

    /// The server's `$sample` of `k` among the documents `fetch` selects, upgraded; nil when
    /// it did not return `k` distinct documents (mongod's pseudo-random cursor may repeat
    /// one, though not after a `$match`).
    func serverSample(_ fetch: [BSON], _ k: Int) throws -> [Document]? {
        let cursor = try openDocuments(fetch + [["$sample": ["size": .int64(Int64(k))]]])
        var seen: Set<GroupKey> = []
        var docs: [Document] = []
        while let doc = try nextStoredAndUpgraded(cursor) {
            if seen.insert(GroupKey(doc.stored["_id"] ?? .null)).inserted { docs.append(doc.upgraded) }
        }
        statistics.bytesReceived += cursor.bytesReceived
        return docs.count == k ? docs : nil
    }

    /// The stored documents with these `_id`s, upgraded, in the order of `ids` (so that a
    /// seeded run does not depend on the server's order).
    func fetchUpgraded(ids: [BSON]) throws -> [Document] {
        var byId: [GroupKey: Document] = [:]
        var start = 0
        while start < ids.count {
            let chunk = Array(ids[start..<min(start + Self.idsPerFetch, ids.count)])
            start += chunk.count
            let cursor = try openDocuments([["$match": ["_id": ["$in": .array(chunk)]]]])
            while let doc = try nextStoredAndUpgraded(cursor) {
                byId[GroupKey(doc.stored["_id"] ?? .null)] = doc.upgraded
            }
            statistics.bytesReceived += cursor.bytesReceived
        }
        return ids.compactMap { byId[GroupKey($0)] }
    }
}
