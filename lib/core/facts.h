#ifndef CB_FACTS_H
#define CB_FACTS_H

/* A verdict's facts: the figures an experiment's verdict states in words,
 * as data (the json export's "facts"), so a dashboard can track a claim
 * ("process is 1.9x faster than thread on cpu; the tutorials say 1.77x")
 * without parsing sentences. */

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cb_fact {
    char *name;       /* "cpu/process_vs_thread": stable, for tracking */
    double value;     /* the measured figure */
    char *unit;       /* "x", "s", "count", ... */
    double reference; /* the tutorials' figure for it, or NaN */
    char *text;       /* the claim in words, as the verdict prints it */
} cb_fact_t;

typedef struct cb_facts {
    cb_fact_t *v;
    size_t n, cap;
} cb_facts_t;

/* Adds a fact (copies the strings; text is printf-formatted). Returns 0 or
 * -ENOMEM. */
int cb_facts_add(cb_facts_t *f, const char *name, double value, const char *unit, double reference,
                 const char *fmt, ...) __attribute__((format(printf, 6, 7)));
void cb_facts_free(cb_facts_t *f);

#ifdef __cplusplus
}
#endif
#endif
