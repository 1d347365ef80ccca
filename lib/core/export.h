#ifndef CB_EXPORT_H
#define CB_EXPORT_H

/* Results where users' tools read them (`--export FORMAT=FILE`, repeatable,
 * as hyperfine's --export-*): written after the CSVs, atomically, with
 * jansson (Debian's libjansson) for every JSON format. docs/exports.md
 * describes each.
 *   json    the whole run: meta, every raw sample, the summary rows, the
 *           verdict's facts
 *   bmf     Bencher Metric Format, from the summary
 *   gbench  Google Benchmark's JSON (context, iteration and aggregate
 *           entries) for its compare.py and github-action-benchmark
 *   md      the run's summary as a Markdown table
 *   gab-smaller, gab-bigger
 *           github-action-benchmark's customSmallerIsBetter and
 *           customBiggerIsBetter arrays, split by lib/core/direction.h */

#include <stddef.h>

#include "lib/core/facts.h"
#include "lib/core/meta.h"
#include "lib/core/results.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    CB_EXPORT_JSON,
    CB_EXPORT_BMF,
    CB_EXPORT_GBENCH,
    CB_EXPORT_MD,
    CB_EXPORT_GAB_SMALLER,
    CB_EXPORT_GAB_BIGGER,
} cb_export_format_t;

/* Parses "FORMAT=FILE" and checks that FILE can be written (its folder
 * exists and takes files). Returns 0, or -1 after writing the one-line
 * reason (naming the value and what is allowed) to err. */
int cb_export_check(const char *arg, cb_export_format_t *fmt, const char **path, char *err,
                    size_t len);

/* Writes one export of the run (r: the samples, derived rows included; m:
 * its meta; facts: the verdict's, or NULL) to path, atomically. Returns 0
 * or a negative errno. */
int cb_export_write(cb_export_format_t fmt, const char *path, const cb_results_t *r,
                    const cb_meta_t *m, const cb_facts_t *facts);

#ifdef __cplusplus
}
#endif
#endif
