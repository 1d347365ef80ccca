/* examples/sqlite: an IO-bound workload of your own. Each task creates its
 * own SQLite database in the configuration's folder (under --out), with
 * the rollback journal on disk and synchronous=FULL, and inserts --size
 * rows (default 2000) in transactions of 100, each commit waiting for the
 * disk; it returns the sum of the ids it reads back, which the check
 * compares with the arithmetic. `bazel run //examples:sqlite`. */

#include <concbench/concbench.h>
#include <errno.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct sstate {
    const char *dir;
    uint64_t rows;
} sstate_t;

static int setup(const concbench_params_t *p, void **state)
{
    sstate_t *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    s->dir = p->tmp_dir;
    s->rows = p->size;
    *state = s;
    return 0;
}

/* The sum of ids 1..rows read back, or 0 on any failure. */
static uint64_t task(void *state, size_t index)
{
    const sstate_t *s = state;
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/task-%zu.db", s->dir, index);
    remove(path);
    sqlite3 *db = NULL;
    sqlite3_stmt *ins = NULL, *sum = NULL;
    uint64_t total = 0;
    if (sqlite3_open(path, &db) != SQLITE_OK ||
        sqlite3_exec(db,
                     "PRAGMA journal_mode=DELETE; PRAGMA synchronous=FULL;"
                     "CREATE TABLE t(id INTEGER PRIMARY KEY, payload TEXT);",
                     NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "INSERT INTO t(id, payload) VALUES(?, ?)", -1, &ins, NULL) !=
            SQLITE_OK)
        goto out;
    for (uint64_t id = 1; id <= s->rows;) {
        if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
            goto out;
        for (int k = 0; k < 100 && id <= s->rows; k++, id++) {
            char payload[64];
            snprintf(payload, sizeof(payload), "row %llu of task %zu", (unsigned long long)id,
                     index);
            sqlite3_bind_int64(ins, 1, (sqlite3_int64)id);
            sqlite3_bind_text(ins, 2, payload, -1, SQLITE_TRANSIENT);
            if (sqlite3_step(ins) != SQLITE_DONE)
                goto out;
            sqlite3_reset(ins);
        }
        if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
            goto out;
    }
    if (sqlite3_prepare_v2(db, "SELECT sum(id) FROM t", -1, &sum, NULL) == SQLITE_OK &&
        sqlite3_step(sum) == SQLITE_ROW)
        total = (uint64_t)sqlite3_column_int64(sum, 0);
out:
    sqlite3_finalize(ins);
    sqlite3_finalize(sum);
    sqlite3_close(db);
    remove(path);
    return total;
}

static int check(void *state, size_t index, uint64_t value)
{
    (void)index;
    uint64_t n = ((const sstate_t *)state)->rows;
    return value == n * (n + 1) / 2 ? 0 : -1;
}

static void teardown(void *state)
{
    free(state);
}

CONCBENCH_WORKLOAD(sqlite_inserts, .name = "inserts",
                   .summary = "SQLite: --size rows into a database of the task's own, committed "
                              "every 100 rows (journal on disk, synchronous=FULL)",
                   .default_size = 2000, .quick_size = 300, .setup = setup, .task = task,
                   .check = check, .teardown = teardown);
