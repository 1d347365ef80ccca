#ifndef CB_NAMES_H
#define CB_NAMES_H

/* One name an axis accepts (an executor, a workload, a mechanism), as
 * --list shows it. Registries hand out tables of these; experiments build
 * their axes from them. */

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* One name an axis accepts, as --list shows it. */
typedef struct cb_name {
    const char *name;
    const char *summary;
    const char *(*unavailable)(void); /* NULL, or why not on this host */
    int hidden;                       /* 1: listed apart, never a default (fault_*) */
} cb_name_t;

/* Tables of rows whose first member is `const char *name` (an experiment's
 * mechanisms, workloads): the row of a name, NULL when none. */
const void *cb_table_find(const void *rows, size_t n, size_t row_size, const char *name);

/* The same table as --list rows: out[i] from row i, its summary at
 * summary_off and its unavailable() hook at unavailable_off (SIZE_MAX:
 * none). Returns n. */
size_t cb_table_names(cb_name_t *out, const void *rows, size_t n, size_t row_size,
                      size_t summary_off, size_t unavailable_off);

#ifdef __cplusplus
}
#endif
#endif
