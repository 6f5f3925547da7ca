import Foundation

/// Runs `body` with a fresh, empty directory under the system's temporary directory, and removes that directory
/// with everything `body` wrote in it when `body` returns or throws: the one way tests get scratch space, so that
/// test runs leave nothing behind in `/tmp`.
public func withTemporaryDirectory<Result>(_ body: (URL) throws -> Result) throws -> Result {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("interp-test-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    return try body(directory)
}

/// Runs `body` with the URL of a file named `name` holding `contents`, in a directory of
/// ``withTemporaryDirectory(_:)`` (removed when `body` returns or throws).
public func withTemporaryFile<Result>(_ contents: Data, named name: String, _ body: (URL) throws -> Result) throws -> Result {
    try withTemporaryDirectory { directory in
        let url = directory.appendingPathComponent(name)
        try contents.write(to: url)
        return try body(url)
    }
}
