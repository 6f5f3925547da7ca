import Foundation

/// A thread-safe memo of the ids of words already tokenized. Like the tokenizers library it keeps
/// short words only and stops growing at its capacity.
final class WordCache: @unchecked Sendable {
    // `lock` guards `idsByWord`.
    private let lock = NSLock()
    private var idsByWord: [ExactString: [Int]] = [:]
    private let capacity: Int
    private let maximumWordBytes: Int

    init(capacity: Int = 10_000, maximumWordBytes: Int = 256) {
        self.capacity = capacity
        self.maximumWordBytes = maximumWordBytes
    }

    func ids(of word: ExactString) -> [Int]? {
        lock.withLock { idsByWord[word] }
    }

    func remember(_ ids: [Int], of word: ExactString) {
        guard word.string.utf8.count < maximumWordBytes else { return }
        lock.withLock {
            if idsByWord.count < capacity { idsByWord[word] = ids }
        }
    }
}
