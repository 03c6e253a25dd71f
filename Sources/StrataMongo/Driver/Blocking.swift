import Foundation
import Synchronization

/// Runs blocking work (a libmongoc call) on a thread of its own and resumes
/// the caller when it is done. Blocking calls must not sit on Swift's
/// cooperative threads: there are only as many as cores, and one blocked
/// 300 ms call would stall every task behind it.
package func runBlocking<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, Error>) in
        let thread = Thread {
            continuation.resume(with: Result { try body() })
        }
        thread.stackSize = 4 << 20
        thread.start()
    }
}

/// Runs each closure on its own thread and waits for all of them; results in order.
/// The first error (in closure order) is rethrown after all have finished.
package func runOnThreads<T: Sendable>(_ bodies: [@Sendable () throws -> T]) throws -> [T] {
    if bodies.count == 1 { return [try bodies[0]()] }
    let results = ResultBox<T>(count: bodies.count)
    let group = DispatchGroup()
    for (i, body) in bodies.enumerated() {
        group.enter()
        let thread = Thread {
            results.set(i, Result { try body() })
            group.leave()
        }
        thread.stackSize = 4 << 20
        thread.start()
    }
    group.wait()
    return try results.values()
}

private final class ResultBox<T: Sendable>: Sendable {
    private let slots: Mutex<[Result<T, Error>?]>
    init(count: Int) { slots = Mutex(Array(repeating: nil, count: count)) }
    func set(_ i: Int, _ r: Result<T, Error>) { slots.withLock { $0[i] = r } }
    func values() throws -> [T] {
        try slots.withLock { slots in try slots.map { try $0!.get() } }
    }
}
