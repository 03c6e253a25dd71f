// StrataTesting: helpers for testing code that queries a collection mid-migration —
// `StrataTestServer` (the embedded server, or one given), `MidMigrationFixture` (newest-version
// documents seeded at mixes of versions next to their migrated copy) and `SeededCollection`
// (a pipeline answered through strata and directly on the copy, compared). The helpers throw
// (`AnswersDiffer`, `StrataTestingError`) rather than assert, so they work alike from XCTest
// (`try` in a throwing test) and Swift Testing (`#expect(throws: Never.self)` or plain `try`).
@_exported import Strata
