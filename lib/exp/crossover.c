#include "lib/exp/crossover.h"

#include <math.h>

double cb_crossover(const double *sizes, const double *ratio, size_t n, cb_cross_where_t *where)
{
    size_t m = 0, last_lose = n, first = n, prev = n;
    double cross = NAN;
    for (size_t i = 0; i < n; i++) {
        if (!(ratio[i] > 0) || !(sizes[i] > 0) || isinf(ratio[i]))
            continue;
        if (first == n)
            first = i;
        m++;
        if (ratio[i] >= 1)
            last_lose = i;
        prev = i;
    }
    if (m < 2) {
        *where = CB_CROSS_NONE;
        return NAN;
    }
    if (last_lose == n) {
        *where = CB_CROSS_BELOW;
        return sizes[first];
    }
    if (last_lose == prev) {
        *where = CB_CROSS_ABOVE;
        return sizes[prev];
    }
    size_t next = last_lose + 1;
    while (!(ratio[next] > 0) || !(sizes[next] > 0) || isinf(ratio[next]))
        next++;
    double l0 = log(ratio[last_lose]), l1 = log(ratio[next]);
    double s0 = log(sizes[last_lose]), s1 = log(sizes[next]);
    double f = l0 - l1 > 0 ? l0 / (l0 - l1) : 0;
    cross = exp(s0 + f * (s1 - s0));
    *where = CB_CROSS_INSIDE;
    return cross;
}
