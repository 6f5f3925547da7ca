#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// Writes files and directories so that readers see either the old version or the new one, never a
/// partial write: the new version is written under a temporary name in the same directory (hence on the
/// same file system) and then renamed into place.
public enum AtomicFile {
    /// Writes `data` to `url`, replacing any file there; the directory is created if needed.
    public static func write(_ data: Data, to url: URL) throws {
        let temporary = temporarySibling(of: url, purpose: "tmp")
        do {
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try data.write(to: temporary)
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            throw SavingError("\(url.path): cannot write: \(error.localizedDescription)")
        }
        guard rename(temporary.path, url.path) == 0 else {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(at: temporary)
            throw SavingError("\(url.path): cannot move the written file into place: \(reason)")
        }
    }

    /// Fills a fresh directory with `fill` and puts it at `url`, replacing any directory there.
    ///
    /// The old directory is moved aside, the new one renamed into place, and only then is the old one removed,
    /// so `url` always holds a complete version (it is briefly absent only between the two renames).
    public static func replaceDirectory(at url: URL, fill: (URL) throws -> Void) throws {
        let fileManager = FileManager.default
        let staging = temporarySibling(of: url, purpose: "partial")
        do {
            try fileManager.createDirectory(at: staging, withIntermediateDirectories: true)
            try fill(staging)
        } catch {
            try? fileManager.removeItem(at: staging)
            throw error
        }
        var previous: URL?
        if fileManager.fileExists(atPath: url.path) {
            let aside = temporarySibling(of: url, purpose: "old")
            guard rename(url.path, aside.path) == 0 else {
                let reason = String(cString: strerror(errno))
                try? fileManager.removeItem(at: staging)
                throw SavingError("\(url.path): cannot move the previous version aside: \(reason)")
            }
            previous = aside
        }
        guard rename(staging.path, url.path) == 0 else {
            let reason = String(cString: strerror(errno))
            if let previous { _ = rename(previous.path, url.path) }
            try? fileManager.removeItem(at: staging)
            throw SavingError("\(url.path): cannot move the new version into place: \(reason)")
        }
        if let previous { try? fileManager.removeItem(at: previous) }
    }

    /// A hidden, unique name next to `url`.
    private static func temporarySibling(of url: URL, purpose: String) -> URL {
        url.deletingLastPathComponent()
            .appendingPathComponent(".\(url.lastPathComponent).\(purpose)-\(UUID().uuidString)")
    }
}
