import Foundation
#if canImport(Glibc)
import Glibc
#endif

extension Data {
    /// The bytes of the file at `url`, which may also be a pipe or a character device: `/dev/stdin`, or a shell's
    /// process substitution such as `--task <(jq … tasks.json)`.
    ///
    /// Foundation's `Data(contentsOf:)` refuses those with a misleading "You don't have permission"; they are read
    /// to their end through a `FileHandle` instead. Regular files (and errors such as a missing file) go through
    /// `Data(contentsOf:)` as before.
    ///
    /// ```swift
    /// let bytes = try Data(contentsOfFileOrStream: URL(fileURLWithPath: "/dev/stdin"))
    /// ```
    public init(contentsOfFileOrStream url: URL) throws {
        var status = stat()
        let kind = url.isFileURL && stat(url.path, &status) == 0 ? status.st_mode & S_IFMT : 0
        if kind == S_IFIFO || kind == S_IFCHR {
            self = try FileHandle(forReadingFrom: url).readToEnd() ?? Data()
        } else {
            try self.init(contentsOf: url)
        }
    }
}
