import Synchronization
import Foundation
import StrataMongo

extension ServerProfile {
    private static let cache = Mutex<[String: ServerProfile]>([:])

    /// `STRATA_SERVER_PROFILE`, read once per process: the environment is copied whole on
    /// every read of `ProcessInfo.environment`, which cost a fifth of a hot-path call.
    private static let forced: ServerProfile? = {
        switch ProcessInfo.processInfo.environment["STRATA_SERVER_PROFILE"]?.lowercased() {
        case "mongod": return .mongod
        case "secantus", "secantusdb": return .secantus
        default: return nil
        }
    }()

    /// Forgets the profile of `database`'s server (asked again on next use).
    package static func forget(_ database: MongoDatabase) {
        _ = cache.withLock { $0.removeValue(forKey: database.pool.uri) }
    }

    /// The profile of `database`'s server, asked once per process and URI (`buildInfo`:
    /// SecantusDB reports `secantusVersion`). `STRATA_SERVER_PROFILE=mongod|secantus`
    /// overrides it (to compare plans, or to plan for a production mongod from a test
    /// machine).
    package static func of(_ database: MongoDatabase) -> ServerProfile {
        if let forced { return forced }
        let key = database.pool.uri
        if let p = cache.withLock({ $0[key] }) { return p }
        var profile = ServerProfile.mongod
        if let info = try? MongoDatabase(pool: database.pool, name: "admin").runCommand(["buildInfo": 1]),
           info["secantusVersion"] != nil
        {
            profile = .secantus
        }
        cache.withLock { $0[key] = profile }
        return profile
    }
}
