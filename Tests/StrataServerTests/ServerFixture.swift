import StrataBSON
import StrataMongo
import StrataTestFixtures
import StrataTestSupport

/// A collection on the test server holding `Fixture.docs` (created once per process).
final class ServerFixture: @unchecked Sendable {
    static let shared: Result<ServerFixture, Error> = Result { try ServerFixture() }
    let db: MongoDatabase
    let coll: MongoCollection

    init() throws {
        db = try TestServer.freshDatabase("evaluator")
        coll = db.collection("docs")
        try coll.insertMany(Fixture.docs)
    }

    static func get() throws -> ServerFixture { try shared.get() }

    /// A collection with the given documents (dropped first).
    func collection(_ name: String, _ docs: [Document]) throws -> MongoCollection {
        let c = db.collection(name)
        try c.drop()
        if !docs.isEmpty { try c.insertMany(docs) }
        return c
    }
}
