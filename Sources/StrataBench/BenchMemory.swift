import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The process's resident memory, as the benchmark reports it.
///
/// The peak of one call is measured by resetting the kernel's high-water mark first
/// (Linux: writing `5` to `/proc/self/clear_refs`, which sets `VmHWM` to the current
/// RSS) and reading `VmHWM` afterwards — exact, and no sampling thread. Resetting it
/// also resets what `getrusage`'s `ru_maxrss` reports, so the process's lifetime peak
/// is kept here (`lifetimePeakBytes`: the largest high-water mark seen before any reset).
/// Where `/proc` is missing (macOS), `ru_maxrss` is all there is: the lifetime peak.
package enum BenchMemory {
    private static let savedPeak = Mutex(0)

    /// `VmRSS`: resident now (nil without `/proc`).
    package static var residentBytes: Int? { statusField("VmRSS:") }

    /// `VmHWM`: the peak since the process started or since the last reset.
    package static var highWaterMarkBytes: Int? { statusField("VmHWM:") }

    /// `getrusage(RUSAGE_SELF).ru_maxrss` in bytes (kilobytes on Linux, bytes on macOS).
    package static var maxRSSBytes: Int {
        var usage = rusage()
        #if os(Linux)
        guard getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage) == 0 else { return 0 }
        return Int(usage.ru_maxrss) * 1024
        #else
        guard getrusage(RUSAGE_SELF, &usage) == 0 else { return 0 }
        return Int(usage.ru_maxrss)
        #endif
    }

    /// The process's peak RSS over its whole life, resets included.
    package static var lifetimePeakBytes: Int {
        savedPeak.withLock { max($0, maxRSSBytes, highWaterMarkBytes ?? 0) }
    }

    /// Sets the high-water mark to the current RSS; false where that is not possible.
    @discardableResult
    package static func resetHighWaterMark() -> Bool {
        // Held until the reset is written: no other reset or reading in between.
        savedPeak.withLock { saved in
            saved = max(saved, maxRSSBytes, highWaterMarkBytes ?? 0)
            guard let fd = fopen("/proc/self/clear_refs", "w") else { return false }
            defer { fclose(fd) }
            return fputs("5", fd) >= 0 && fflush(fd) == 0
        }
    }

    /// What `measure` saw.
    package struct Peak: Sendable, Codable, Equatable {
        /// RSS when the call started.
        package var beforeBytes: Int?
        /// The highest RSS during the call (nil when it cannot be told apart from the
        /// process's earlier peak).
        package var peakBytes: Int?
    }

    /// Runs `body` and reports the RSS before it and the peak during it.
    package static func measure<T>(_ body: () throws -> T) rethrows -> (T, Peak) {
        let canReset = resetHighWaterMark()
        let before = residentBytes
        let value = try body()
        let peak = canReset ? highWaterMarkBytes : nil
        savedPeak.withLock { $0 = max($0, peak ?? 0) }
        return (value, Peak(beforeBytes: before, peakBytes: peak))
    }

    /// A `kB` field of `/proc/self/status`, in bytes. Read with stdio: Foundation's
    /// `String(contentsOfFile:)` sees the file's size as 0 and returns nothing.
    static func statusField(_ name: String) -> Int? {
        guard let file = fopen("/proc/self/status", "r") else { return nil }
        defer { fclose(file) }
        var buffer = [CChar](repeating: 0, count: 512)
        while fgets(&buffer, Int32(buffer.count), file) != nil {
            let line = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            guard line.hasPrefix(name) else { continue }
            let parts = line.dropFirst(name.count).split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" })
            guard let n = parts.first.flatMap({ Int($0) }) else { return nil }
            let unit = parts.count > 1 ? parts[1].lowercased() : "kb"
            return unit == "kb" ? n * 1024 : n
        }
        return nil
    }
}
