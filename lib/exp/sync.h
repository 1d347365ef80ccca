#ifndef CB_SYNC_H
#define CB_SYNC_H

/* The measurable parts of the `sync` experiment (E4, E5, E6, E12 of the
 * tutorials), kept in the library so tests can call them:
 *
 * - the shared counter (E4): N tasks each read a counter, wait, and write it
 *   back minus one, with no lock, with a mutex around read-wait-write, or
 *   each task started and joined in turn;
 * - the data race (E5): read-modify-write of a shared counter without an
 *   atomic read-modify-write, counting the updates lost;
 * - the semaphore (E6): at most K of N tasks inside at once, measured;
 * - queues (E12): a bounded FIFO, LIFO or priority queue between producers
 *   and consumers, every delivery checked against a reference model.
 *
 * Each runs on threads or on processes (shared memory, process-shared
 * pthread objects). Functions here fork and create threads; they are not
 * meant to be called from several threads at once. */

#include <stddef.h>
#include <stdint.h>

#include "lib/exec/executor.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    CB_SYNC_THREADS = 0,
    CB_SYNC_PROCESSES,
} cb_sync_unit_t;

typedef enum {
    CB_SYNC_NO_LOCK = 0, /* all tasks run at once, nothing protects the counter */
    CB_SYNC_LOCK,        /* all tasks run at once, a mutex around read-wait-write */
    CB_SYNC_JOIN,        /* each task is started and joined before the next */
} cb_sync_variant_t;

typedef struct cb_sync_counter_cfg {
    cb_sync_unit_t unit;
    cb_sync_variant_t variant;
    int tasks;           /* each decrements once; the counter starts at `tasks` */
    uint64_t outside_ns; /* wait before touching the counter (the tutorials' 3 s) */
    uint64_t hold_ns;    /* wait between reading and writing (the tutorials' 0.5 s) */
} cb_sync_counter_cfg_t;

typedef struct cb_sync_counter_result {
    double wall_s;      /* first start to last join / reap */
    long final_counter; /* 0 when every update landed */
    long lost_updates;  /* final_counter - 0 */
} cb_sync_counter_result_t;

/* Runs the shared-counter experiment once. Returns 0, or a negative errno
 * (a thread or process could not be started, or a task failed). */
int cb_sync_counter_run(const cb_sync_counter_cfg_t *cfg, cb_sync_counter_result_t *res);

typedef struct cb_sync_race_result {
    double wall_s;
    uint64_t expected; /* workers x increments */
    uint64_t final_counter;
    uint64_t lost_updates; /* expected - final */
} cb_sync_race_result_t;

/* `workers` threads or processes each add 1 to one shared counter
 * `increments` times, as a separate load and store (no atomic
 * read-modify-write, no lock), all released together. Returns 0 or a
 * negative errno. */
int cb_sync_race_run(cb_sync_unit_t unit, int workers, uint64_t increments,
                     cb_sync_race_result_t *res);

typedef struct cb_sync_sem_result {
    double wall_s;
    int peak;      /* most tasks holding the semaphore at once, measured */
    int waves;     /* ceil(tasks / permits): the least time in holds */
    double hold_s; /* one hold */
} cb_sync_sem_result_t;

/* `tasks` threads or processes, all started at once, each take a semaphore
 * of `permits`, hold it hold_ns, and give it back. The peak is counted with
 * an atomic counter of holders, incremented after taking the semaphore and
 * decremented before giving it back. Returns 0 or a negative errno. */
int cb_sync_semaphore_run(cb_sync_unit_t unit, int tasks, int permits, uint64_t hold_ns,
                          cb_sync_sem_result_t *res);

typedef enum {
    CB_QUEUE_FIFO = 0,
    CB_QUEUE_LIFO,
    CB_QUEUE_PRIORITY, /* smallest priority first, ties first in first out
                          (Python's PriorityQueue with (priority, count)) */
} cb_queue_kind_t;

/* What the order check needs to know about one item. Tickets come from one
 * counter taken under the queue's lock, shared by pushes and pops, so they
 * put every push and pop in the order the queue saw them. */
typedef struct cb_queue_item_log {
    uint64_t push_ticket;
    uint64_t pop_ticket;
    uint32_t priority;
} cb_queue_item_log_t;

/* Counts the pops that break the discipline: replays the n items' pushes
 * and pops in ticket order on a reference model (the items present, kept
 * as a plain list) and, at each pop, compares the item popped with the one
 * the discipline picks among those present (FIFO: earliest push; LIFO:
 * latest push; priority: smallest priority, then earliest push). A pop of
 * an item not present counts as an error too. Returns the count, or
 * -EINVAL when the tickets are not a permutation of 0 .. 2n-1, -ENOMEM. */
long cb_sync_queue_order_errors(cb_queue_kind_t kind, const cb_queue_item_log_t *items, size_t n);

typedef struct cb_sync_queue_cfg {
    cb_queue_kind_t kind;
    int producers, consumers;
    size_t items_per_producer;
    size_t capacity; /* bound of the queue: producers wait when it is full */
} cb_sync_queue_cfg_t;

typedef struct cb_sync_queue_result {
    double wall_s;
    double items_per_s;
    size_t delivered;
    long order_errors; /* cb_sync_queue_order_errors over the run's items */
} cb_sync_queue_result_t;

/* Runs producers and consumers (threads) over one bounded queue with a
 * mutex and two condition variables; every item is delivered once and its
 * order checked. Returns 0 or a negative errno. */
int cb_sync_queue_run(const cb_sync_queue_cfg_t *cfg, cb_sync_queue_result_t *res);

#ifdef __cplusplus
}
#endif
#endif
