#pragma once
// A 32-bit word that threads wait on: spin on it for a bounded time, then sleep until another thread changes it
// (a futex on Linux, a condition variable elsewhere). The building block of the Swift worker pool (Parallel).

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// The word and the number of its waiters that are asleep (so that a change wakes only when someone sleeps).
// Access both only through the functions below.
typedef struct {
    uint32_t value;
    uint32_t sleepers;
} ck_wait_word;

// The current value (acquire).
uint32_t ck_wait_word_load(const ck_wait_word *word);

// Stores `value` (sequentially consistent: writes made before are visible to a thread that sees it) and wakes
// the sleeping waiters.
void ck_wait_word_store(ck_wait_word *word, uint32_t value);

// Adds `delta` (wrapping) and wakes the sleeping waiters; returns the new value.
uint32_t ck_wait_word_add(ck_wait_word *word, uint32_t delta);

// Waits until the value differs from `reference` (`until_equal` 0) or equals it (`until_equal` 1) and returns
// that value: spins (with the CPU's pause instruction) for at most `spin_nanoseconds`, then sleeps.
uint32_t ck_wait_word_wait(ck_wait_word *word, uint32_t reference, int until_equal, long spin_nanoseconds);

// The chunk counter of a parallel region: its generation (high 32 bits), its chunk count (next 16) and the next
// unclaimed chunk (low 16). Threads claim chunks by compare-and-swap, so a claim succeeds only while the region it
// read is still the current one and has chunks left.
typedef struct {
    uint64_t value;
} ck_chunk_counter;

// The current value (acquire).
uint64_t ck_chunk_counter_load(const ck_chunk_counter *counter);

// Publishes a new value (release: writes made before are visible to a thread that loads it).
void ck_chunk_counter_store(ck_chunk_counter *counter, uint64_t value);

// Replaces `observed` by `observed + 1` if the counter still holds it; returns 1 on success, 0 otherwise.
int ck_chunk_counter_claim(ck_chunk_counter *counter, uint64_t observed);

#ifdef __cplusplus
}
#endif
