#include "lib/exp/crossover.h"

#include <math.h>

#include "gtest/gtest.h"

/* Synthetic curves with a known answer: t_a = c + k s (a start-up cost,
 * then half the time per unit of work) against t_b = 2 k s. */
TEST(Crossover, FoundWhereTheCostsMeet)
{
    /* c = 1000 k: the costs meet at s = 1000 exactly. */
    double sizes[7], ratio[7];
    for (int i = 0; i < 7; i++) {
        sizes[i] = pow(10, 1 + 0.5 * i); /* 10 .. 10^4 */
        ratio[i] = (1000 + sizes[i]) / (2 * sizes[i]);
    }
    cb_cross_where_t w;
    double c = cb_crossover(sizes, ratio, 7, &w);
    EXPECT_EQ(w, CB_CROSS_INSIDE);
    /* Interpolated between 10^2.5 and 10^3.5 on the log scale: within a
     * factor of 1.25 of the true meeting point. */
    EXPECT_GT(c, 1000 / 1.25);
    EXPECT_LT(c, 1000 * 1.25);
    /* Exactly on a measured size where ratio crosses 1 linearly in log. */
    double s2[3] = {10, 100, 1000}, r2[3] = {4, 1, 0.25};
    EXPECT_NEAR(cb_crossover(s2, r2, 3, &w), 100, 1e-9);
    EXPECT_EQ(w, CB_CROSS_INSIDE);
}

TEST(Crossover, ALaterLossMovesItUp)
{
    /* a wins at 100, loses again at 1000, wins from 10^4 on: the size from
     * which it always wins is between 1000 and 10^4. */
    double s[5] = {10, 100, 1000, 10000, 100000}, r[5] = {2, 0.9, 1.1, 0.5, 0.2};
    cb_cross_where_t w;
    double c = cb_crossover(s, r, 5, &w);
    EXPECT_EQ(w, CB_CROSS_INSIDE);
    EXPECT_GT(c, 1000);
    EXPECT_LT(c, 10000);
}

TEST(Crossover, OutsideTheRangeAndGaps)
{
    cb_cross_where_t w;
    double s[4] = {10, 100, 1000, 10000};
    double always[4] = {0.5, 0.4, 0.3, 0.2}, never[4] = {3, 2, 1.5, 1.2};
    EXPECT_EQ(cb_crossover(s, always, 4, &w), 10);
    EXPECT_EQ(w, CB_CROSS_BELOW);
    EXPECT_EQ(cb_crossover(s, never, 4, &w), 10000);
    EXPECT_EQ(w, CB_CROSS_ABOVE);
    /* A size not measured is stepped over. */
    double gap[4] = {2, NAN, 0.5, 0.25};
    double c = cb_crossover(s, gap, 4, &w);
    EXPECT_EQ(w, CB_CROSS_INSIDE);
    EXPECT_GT(c, 10);
    EXPECT_LT(c, 1000);
    double one[4] = {NAN, 0.5, NAN, NAN};
    EXPECT_TRUE(isnan(cb_crossover(s, one, 4, &w)));
    EXPECT_EQ(w, CB_CROSS_NONE);
}
