import Synchronization

/// A value shared with closures that run on other threads: the tests' one lock helper,
/// a `Mutex` inside.
public final class Locked<T: Sendable>: Sendable {
    private let mutex: Mutex<T>
    public init(_ value: T) { mutex = Mutex(value) }
    public var value: T { mutex.withLock { $0 } }
    public func mutate(_ change: (inout T) -> Void) { mutex.withLock { change(&$0) } }
}
