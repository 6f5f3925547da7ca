// The spin-then-sleep wait word (see wait_word.h).
//
// A waiter announces itself in `sleepers` before its last look at `value`, and a changer reads `sleepers` after
// changing `value`, both sequentially consistent: either the waiter sees the new value or the changer sees the
// sleeper and wakes it. The futex (or the mutex held across the condition wait) closes the gap between the last
// look and going to sleep.

#include "wait_word.h"

#include <time.h>

#if defined(__linux__)
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <limits.h>
#else
#include <pthread.h>
static pthread_mutex_t sleep_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t sleep_condition = PTHREAD_COND_INITIALIZER;
#endif

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

static long monotonic_nanoseconds(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (long)now.tv_sec * 1000000000L + now.tv_nsec;
}

static inline int satisfied(uint32_t value, uint32_t reference, int until_equal) {
    return until_equal ? value == reference : value != reference;
}

uint32_t ck_wait_word_load(const ck_wait_word *word) { return __atomic_load_n(&word->value, __ATOMIC_ACQUIRE); }

static void wake_sleepers(ck_wait_word *word) {
    if (__atomic_load_n(&word->sleepers, __ATOMIC_SEQ_CST) == 0) return;
#if defined(__linux__)
    syscall(SYS_futex, &word->value, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
#else
    pthread_mutex_lock(&sleep_mutex);
    pthread_cond_broadcast(&sleep_condition);
    pthread_mutex_unlock(&sleep_mutex);
#endif
}

void ck_wait_word_store(ck_wait_word *word, uint32_t value) {
    __atomic_store_n(&word->value, value, __ATOMIC_SEQ_CST);
    wake_sleepers(word);
}

uint32_t ck_wait_word_add(ck_wait_word *word, uint32_t delta) {
    uint32_t value = __atomic_add_fetch(&word->value, delta, __ATOMIC_SEQ_CST);
    wake_sleepers(word);
    return value;
}

uint32_t ck_wait_word_wait(ck_wait_word *word, uint32_t reference, int until_equal, long spin_nanoseconds) {
    uint32_t value = ck_wait_word_load(word);
    if (satisfied(value, reference, until_equal)) return value;
    long deadline = monotonic_nanoseconds() + spin_nanoseconds;
    for (unsigned spins = 1;; spins++) {
        cpu_relax();
        value = ck_wait_word_load(word);
        if (satisfied(value, reference, until_equal)) return value;
        if (spins % 64 == 0 && monotonic_nanoseconds() >= deadline) break;
    }
    for (;;) {
        __atomic_add_fetch(&word->sleepers, 1, __ATOMIC_SEQ_CST);
#if defined(__linux__)
        value = __atomic_load_n(&word->value, __ATOMIC_SEQ_CST);
        if (!satisfied(value, reference, until_equal))
            syscall(SYS_futex, &word->value, FUTEX_WAIT_PRIVATE, value, NULL, NULL, 0);
#else
        pthread_mutex_lock(&sleep_mutex);
        while (!satisfied(__atomic_load_n(&word->value, __ATOMIC_SEQ_CST), reference, until_equal))
            pthread_cond_wait(&sleep_condition, &sleep_mutex);
        pthread_mutex_unlock(&sleep_mutex);
#endif
        __atomic_sub_fetch(&word->sleepers, 1, __ATOMIC_SEQ_CST);
        value = ck_wait_word_load(word);
        if (satisfied(value, reference, until_equal)) return value;
    }
}

uint64_t ck_chunk_counter_load(const ck_chunk_counter *counter) {
    return __atomic_load_n(&counter->value, __ATOMIC_ACQUIRE);
}

void ck_chunk_counter_store(ck_chunk_counter *counter, uint64_t value) {
    __atomic_store_n(&counter->value, value, __ATOMIC_SEQ_CST);
}

int ck_chunk_counter_claim(ck_chunk_counter *counter, uint64_t observed) {
    return __atomic_compare_exchange_n(&counter->value, &observed, observed + 1, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}
