#ifndef CB_CROSSOVER_H
#define CB_CROSSOVER_H

/* Where one way of running work starts to beat another as the work grows
 * (tasksize: the size from which processes beat serial or threads). */

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    CB_CROSS_INSIDE = 0, /* found between two measured sizes */
    CB_CROSS_BELOW = -1, /* a wins at every measured size: below the range */
    CB_CROSS_ABOVE = 1,  /* a does not win at the largest size: above the range */
    CB_CROSS_NONE = 2,   /* fewer than two sizes with both measured */
} cb_cross_where_t;

/* sizes ascending, ratio[i] = time of a / time of b at sizes[i] (NaN: not
 * measured, left out). The crossover is the size from which a beats b
 * (ratio below 1) at every larger measured size: between the last size
 * where ratio >= 1 and the next one, interpolated where log(ratio) crosses
 * 0 on a log size axis. Returns it (INSIDE), the smallest size (BELOW), the
 * largest (ABOVE), or NaN (NONE), with *where saying which. */
double cb_crossover(const double *sizes, const double *ratio, size_t n, cb_cross_where_t *where);

#ifdef __cplusplus
}
#endif
#endif
