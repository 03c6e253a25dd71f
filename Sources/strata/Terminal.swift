import Foundation
import Strata

/// Progress on stderr, shown only when stderr is a terminal: one line redrawn
/// in place at most ten times a second, cleared when the work is done.
final class ProgressLine {
    let enabled: Bool
    private var lastDraw: ContinuousClock.Instant?
    private var drawn = false
    private let clock = ContinuousClock()

    init(enabled: Bool = isatty(STDERR_FILENO) == 1) {
        self.enabled = enabled
    }

    func update(_ text: @autoclosure () -> String) {
        guard enabled else { return }
        let now = clock.now
        if let lastDraw, now - lastDraw < .milliseconds(100) { return }
        lastDraw = now
        drawn = true
        FileHandle.standardError.write(Data(("\r\u{1B}[K" + text()).utf8))
    }

    func finish() {
        guard enabled, drawn else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
        drawn = false
    }
}

/// `12345` → `12,345`.
func grouped(_ n: Int) -> String { VersionHistogram.grouped(n) }
