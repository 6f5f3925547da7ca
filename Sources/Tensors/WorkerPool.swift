import CKernels
import Foundation

/// The persistent threads behind ``Parallel``.
///
/// A region's chunks are fixed by its size and thread count; which thread runs a chunk is not: the caller and
/// the workers it wakes claim chunks from a shared counter, so when a worker is descheduled (a loaded machine)
/// the caller runs its chunks instead of waiting for it, and results are the same either way.
///
/// A region is published by writing its description, then its chunk counter (tagged with a new generation),
/// then bumping the mailbox word of each worker it wants; the caller claims chunks too and then waits for the
/// shared `done` count to reach the chunk count. Waits spin for at most `spinNanoseconds` and then sleep (see
/// `ck_wait_word_wait`). Only one region runs at a time (``Parallel`` serializes them), and a region's
/// description is rewritten only after all its chunks are done, so a claim that succeeds read the current one.
final class WorkerPool: @unchecked Sendable {
    /// What the threads of the current region read: its size, its chunk count and its body (a pointer to a
    /// `(Int) -> Void` on the caller's stack, valid until every chunk is done).
    private struct Region {
        var count = 0
        var chunks = 0
        var body: UnsafeRawPointer?
    }

    /// A worker's wait word, shared with its thread.
    private struct Mailbox: @unchecked Sendable {
        let word: UnsafeMutablePointer<ck_wait_word>
    }

    private let spinNanoseconds: Int
    private let region = UnsafeMutablePointer<Region>.allocate(capacity: 1)
    private let counter = UnsafeMutablePointer<ck_chunk_counter>.allocate(capacity: 1)
    private let done = UnsafeMutablePointer<ck_wait_word>.allocate(capacity: 1)
    private var generation: UInt64 = 0
    /// The mailbox of worker `w` at `w - 1`: its value counts the regions the worker was woken for.
    private var mailboxes: [Mailbox] = []

    init(spinNanoseconds: Int) {
        self.spinNanoseconds = spinNanoseconds
        region.initialize(to: Region())
        counter.initialize(to: ck_chunk_counter(value: 0))
        done.initialize(to: ck_wait_word(value: 0, sleepers: 0))
    }

    /// Starts workers until there are at least `count`. Called by the region owner only.
    func ensureWorkers(_ count: Int) {
        while mailboxes.count < count {
            let mailbox = Mailbox(word: .allocate(capacity: 1))
            mailbox.word.initialize(to: ck_wait_word(value: 0, sleepers: 0))
            mailboxes.append(mailbox)
            let thread = Thread { [self] in work(mailbox: mailbox) }
            thread.name = "interp-worker-\(mailboxes.count)"
            thread.start()
        }
    }

    /// Runs `body` over `0..<count` split into `chunks` contiguous chunks (at most 65,535), on the calling thread
    /// and `chunks - 1` workers.
    func run(count: Int, chunks: Int, _ body: (Int) -> Void) {
        precondition(chunks <= 0xFFFF, "a parallel region has at most 65,535 chunks, got \(chunks)")
        withoutActuallyEscaping(body) { body in
            withUnsafePointer(to: body) { bodyPointer in
                region.pointee = Region(count: count, chunks: chunks, body: UnsafeRawPointer(bodyPointer))
                ck_wait_word_store(done, 0)
                generation &+= 1
                ck_chunk_counter_store(counter, generation << 32 | UInt64(chunks) << 16)
                for worker in 1..<chunks { ck_wait_word_add(mailboxes[worker - 1].word, 1) }
                runClaimedChunks()
                ck_wait_word_wait(done, UInt32(chunks), 1, spinNanoseconds)
                region.pointee.body = nil
            }
        }
    }

    /// The loop of a worker; its mailbox starts at 0 (a region may be posted before the thread runs).
    private func work(mailbox: Mailbox) {
        var seen: UInt32 = 0
        while true {
            seen = ck_wait_word_wait(mailbox.word, seen, 0, spinNanoseconds)
            runClaimedChunks()
        }
    }

    /// Claims and runs chunks of the current region until none is left.
    private func runClaimedChunks() {
        while true {
            let observed = ck_chunk_counter_load(counter)
            let chunks = Int(observed >> 16 & 0xFFFF), next = Int(observed & 0xFFFF)
            guard next < chunks else { return }
            let current = region.pointee
            guard ck_chunk_counter_claim(counter, observed) == 1 else { continue }
            runChunk(next, of: current)
            ck_wait_word_add(done, 1)
        }
    }

    /// Runs one chunk; kept out of line so that every reference it takes to the body is released before the
    /// chunk is reported done.
    @inline(never)
    private func runChunk(_ chunk: Int, of region: Region) {
        let body = region.body!.assumingMemoryBound(to: ((Int) -> Void).self).pointee
        for i in (region.count * chunk / region.chunks)..<(region.count * (chunk + 1) / region.chunks) { body(i) }
    }
}
