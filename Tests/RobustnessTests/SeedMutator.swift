import Foundation
import Tensors

/// Deterministic mutations of seed inputs, of the kinds libFuzzer starts from: bit flips, truncations,
/// byte insertions, splices of two seeds, and overwrites with bytes and numbers that parsers treat specially.
///
/// ```swift
/// var mutator = SeedMutator(seeds: [Data("[1, 2]".utf8)], seed: 7)
/// let input = mutator.next()   // e.g. "[1,\u{0} 2]"
/// ```
struct SeedMutator {
    let seeds: [[UInt8]]
    private var generator: SeededGenerator

    /// JSON punctuation, quotes, escapes, NUL and bytes that are never valid UTF-8 on their own.
    private static let specialBytes = Array("{}[]\":,-0.9e\\".utf8) + [0, 0x80, 0xC3, 0xFF]
    /// Numbers at the edges of Int, Double and the sizes parsers compute with.
    private static let specialNumbers = ["-1", "0", "4294967296", "9223372036854775807", "18446744073709551616",
                                         "1e400", "0.5", "null", "true", "\"\""].map { Array($0.utf8) }

    init(seeds: [Data], seed: UInt64) {
        precondition(!seeds.isEmpty, "SeedMutator needs at least one seed")
        self.seeds = seeds.map { [UInt8]($0) }
        generator = SeededGenerator(seed: seed)
    }

    /// A seed with one to four mutations applied.
    mutating func next() -> Data {
        var bytes = seeds.randomElement(using: &generator)!
        for _ in 0..<Int.random(in: 1...4, using: &generator) { mutate(&bytes) }
        return Data(bytes)
    }

    private mutating func mutate(_ bytes: inout [UInt8]) {
        let position = Int.random(in: 0...bytes.count, using: &generator)
        switch Int.random(in: 0..<6, using: &generator) {
        case 0 where position < bytes.count:
            bytes[position] ^= 1 << UInt8.random(in: 0..<8, using: &generator)
        case 1:
            bytes.removeSubrange(position...)
        case 2:
            bytes.insert(Bool.random(using: &generator) ? Self.specialBytes.randomElement(using: &generator)!
                                                         : UInt8.random(in: 0...255, using: &generator), at: position)
        case 3:
            let other = seeds.randomElement(using: &generator)!
            bytes = Array(bytes[..<position] + other[Int.random(in: 0...other.count, using: &generator)...])
        case 4:
            let number = Self.specialNumbers.randomElement(using: &generator)!
            bytes.replaceSubrange(position..<min(position + number.count, bytes.count), with: number)
        default:
            bytes.removeSubrange(position..<min(position + Int.random(in: 1...16, using: &generator), bytes.count))
        }
    }
}
