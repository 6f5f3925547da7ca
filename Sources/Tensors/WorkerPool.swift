import CKernels
import Foundation

/// The persistent threads behind ``Parallel``: worker `w` (from 1) runs chunk `w` of every region that uses
/// more than `w` threads, and the region's caller runs chunk 0.
///
/// A region is published by writing its description, then bumping the mailbox word of each worker it uses;
/// the caller runs its own chunk and waits for the shared `pending` count to reach zero. Waits spin for at most
/// `spinNanoseconds` and then sleep (see `ck_wait_word_wait`). Only one region runs at a time (``Parallel``
/// serializes them), so the description is never rewritten while a worker reads it.
final class WorkerPool: @unchecked Sendable {
    /// What the workers of the current region read: its size, its thread count and its body (a pointer to a
    /// `(Int) -> Void` on the caller's stack, valid until `pending` reaches zero).
    private struct Region {
        var count = 0
        var threads = 0
        var body: UnsafeRawPointer?
    }

    private let spinNanoseconds: Int
    private let region = UnsafeMutablePointer<Region>.allocate(capacity: 1)
    private let pending = UnsafeMutablePointer<ck_wait_word>.allocate(capacity: 1)
    /// The mailbox of worker `w` at `w - 1`: its value counts the regions the worker was asked to run.
    private var mailboxes: [Mailbox] = []

    /// A worker's wait word, shared with its thread.
    private struct Mailbox: @unchecked Sendable {
        let word: UnsafeMutablePointer<ck_wait_word>
    }

    init(spinNanoseconds: Int) {
        self.spinNanoseconds = spinNanoseconds
        region.initialize(to: Region())
        pending.initialize(to: ck_wait_word(value: 0, sleepers: 0))
    }

    /// Starts workers until there are at least `count`. Called by the region owner only.
    func ensureWorkers(_ count: Int) {
        while mailboxes.count < count {
            let mailbox = Mailbox(word: .allocate(capacity: 1))
            mailbox.word.initialize(to: ck_wait_word(value: 0, sleepers: 0))
            mailboxes.append(mailbox)
            let worker = mailboxes.count
            let thread = Thread { [self] in work(as: worker, mailbox: mailbox) }
            thread.name = "interp-worker-\(worker)"
            thread.start()
        }
    }

    /// Runs `body` over `0..<count` split into `threads` contiguous chunks, chunk 0 on the calling thread.
    func run(count: Int, threads: Int, _ body: (Int) -> Void) {
        withoutActuallyEscaping(body) { body in
            withUnsafePointer(to: body) { bodyPointer in
                region.pointee = Region(count: count, threads: threads, body: UnsafeRawPointer(bodyPointer))
                ck_wait_word_store(pending, UInt32(threads - 1))
                for worker in 1..<threads { ck_wait_word_add(mailboxes[worker - 1].word, 1) }
                for i in 0..<count / threads { body(i) }
                ck_wait_word_wait(pending, 0, 1, spinNanoseconds)
                region.pointee.body = nil
            }
        }
    }

    /// The loop of worker `worker`; its mailbox starts at 0 (a region may be posted before the thread runs).
    private func work(as worker: Int, mailbox: Mailbox) {
        var seen: UInt32 = 0
        while true {
            seen = ck_wait_word_wait(mailbox.word, seen, 0, spinNanoseconds)
            runChunk(worker, of: region.pointee)
            ck_wait_word_add(pending, UInt32.max)
        }
    }

    /// Runs one chunk; kept out of line so that every reference it takes to the body is released before the
    /// worker reports the chunk done.
    @inline(never)
    private func runChunk(_ chunk: Int, of region: Region) {
        let body = region.body!.assumingMemoryBound(to: ((Int) -> Void).self).pointee
        for i in (region.count * chunk / region.threads)..<(region.count * (chunk + 1) / region.threads) { body(i) }
    }
}
