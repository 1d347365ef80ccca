#include "lib/core/facts.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cb_facts_add(cb_facts_t *f, const char *name, double value, const char *unit, double reference,
                 const char *fmt, ...)
{
    if (f->n == f->cap) {
        size_t ncap = f->cap ? 2 * f->cap : 16;
        cb_fact_t *nv = realloc(f->v, ncap * sizeof(*nv));
        if (!nv)
            return -ENOMEM;
        f->v = nv;
        f->cap = ncap;
    }
    cb_fact_t *x = &f->v[f->n];
    *x = (cb_fact_t){.value = value, .reference = reference};
    va_list ap;
    va_start(ap, fmt);
    int len = vasprintf(&x->text, fmt, ap);
    va_end(ap);
    x->name = strdup(name);
    x->unit = strdup(unit ? unit : "");
    if (len < 0 || !x->name || !x->unit) {
        if (len >= 0)
            free(x->text);
        free(x->name);
        free(x->unit);
        return -ENOMEM;
    }
    f->n++;
    return 0;
}

void cb_facts_free(cb_facts_t *f)
{
    for (size_t i = 0; i < f->n; i++) {
        free(f->v[i].name);
        free(f->v[i].unit);
        free(f->v[i].text);
    }
    free(f->v);
    *f = (cb_facts_t){0};
}
