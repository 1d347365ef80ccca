#ifndef CB_REPORT_H
#define CB_REPORT_H

/* What a run shows and files besides its CSVs: the progress line, the
 * terminal table, the gnuplot rendering and the --history rows. The runner
 * (runner.c) calls these; it measures, they report. */

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "lib/core/meta.h"
#include "lib/core/runner.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One progress line on stderr for configuration c, repetition rep (-1: the
 * warm-up): a self-rewriting line on a terminal, one line per measurement
 * otherwise. */
void cb_report_progress(const cb_experiment_t *e, const cb_config_t *c, int rep, int reps,
                        size_t done, size_t total, uint64_t t0, cb_status_t st, double primary);

/* The terminal table: each configuration's primary metric (its first), in
 * the experiment's order, then the rows per_rep added, in their order. */
void cb_report_table(const cb_experiment_t *e, const cb_results_t *r, FILE *out);

/* Renders plots/E.gp (found beside argv0) over the files in dir into E.png
 * and E.svg, each renamed into place only when complete. Returns 0, or a
 * negative errno after one line on stderr (the CSVs stay complete). */
int cb_report_plot(const cb_experiment_t *e, const char *argv0, const char *dir);

/* Appends the summary's rows to the history CSV hist, each prefixed with
 * git_revision, utc and host from m (a header first when hist is new),
 * replacing hist atomically. Returns 0 or a negative errno. */
int cb_report_history(const char *hist, const char *summary, const cb_meta_t *m);

/* Before a run: the history can be written (its folder exists and takes
 * files) and, when it exists, is a history (its header starts with
 * git_revision,utc,host,experiment). Returns 0, or -1 after writing the
 * reason, naming the path, to why. */
int cb_report_history_check(const char *hist, char *why, size_t len);

#ifdef __cplusplus
}
#endif
#endif
