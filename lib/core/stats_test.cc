#include "lib/core/stats.h"

#include <errno.h>
#include <math.h>

#include <algorithm>
#include <random>
#include <vector>

#include <gtest/gtest.h>

namespace
{

// x(1..n) = 1, 2, ..., n in a shuffled order, so that the order statistic of
// rank j is j itself and the CI bounds read off as ranks.
std::vector<double> shuffled_ranks(size_t n)
{
    std::vector<double> v(n);
    for (size_t i = 0; i < n; i++)
        v[i] = (double)(i + 1);
    std::mt19937 rng(12345);
    std::shuffle(v.begin(), v.end(), rng);
    return v;
}

cb_summary_t summarize(const std::vector<double> &v)
{
    cb_summary_t s;
    EXPECT_EQ(cb_stats_summarize(v.data(), v.size(), &s), 0);
    return s;
}

} // namespace

TEST(Summarize, EmptyIsAllNaN)
{
    cb_summary_t s;
    ASSERT_EQ(cb_stats_summarize(nullptr, 0, &s), 0);
    EXPECT_EQ(s.n, 0u);
    EXPECT_TRUE(isnan(s.median));
    EXPECT_TRUE(isnan(s.mean));
    EXPECT_TRUE(isnan(s.stddev));
    EXPECT_TRUE(isnan(s.min));
    EXPECT_TRUE(isnan(s.max));
    EXPECT_TRUE(isnan(s.cv));
    EXPECT_TRUE(isnan(s.ci95_lo));
    EXPECT_TRUE(isnan(s.ci95_hi));
}

TEST(Summarize, OneSample)
{
    // By definition: one value is its own median, mean, min and max; the
    // header fixes stddev = 0 for n < 2, so cv = 0; the CI is (x(1), x(1)).
    cb_summary_t s = summarize({7.5});
    EXPECT_EQ(s.n, 1u);
    EXPECT_EQ(s.median, 7.5);
    EXPECT_EQ(s.mean, 7.5);
    EXPECT_EQ(s.stddev, 0);
    EXPECT_EQ(s.min, 7.5);
    EXPECT_EQ(s.max, 7.5);
    EXPECT_EQ(s.cv, 0);
    EXPECT_EQ(s.ci95_lo, 7.5);
    EXPECT_EQ(s.ci95_hi, 7.5);
}

TEST(Summarize, AllEqual)
{
    // Hand: every deviation from the mean 3 is 0, so stddev = cv = 0 exactly.
    cb_summary_t s = summarize({3, 3, 3, 3, 3, 3, 3});
    EXPECT_EQ(s.n, 7u);
    EXPECT_EQ(s.median, 3);
    EXPECT_EQ(s.mean, 3);
    EXPECT_EQ(s.stddev, 0);
    EXPECT_EQ(s.cv, 0);
    EXPECT_EQ(s.min, 3);
    EXPECT_EQ(s.max, 3);
    EXPECT_EQ(s.ci95_lo, 3);
    EXPECT_EQ(s.ci95_hi, 3);
}

TEST(Summarize, HandComputedEvenSample)
{
    // Hand, sample {2,4,4,4,5,5,7,9} in shuffled order (the textbook sample
    // with population sd 2): mean = 40/8 = 5; squared deviations
    // 9,1,1,1,0,0,4,16 sum to 32; sample sd = sqrt(32/7) = 2.138089935...;
    // median = (4 + 5)/2 = 4.5; cv = sqrt(32/7)/5.
    // CI, n = 8: P(B <= 0) = 1/256 <= 0.025 but P(B <= 1) = 9/256 = 0.035 >
    // 0.025, so j = 1: (x(1), x(8)) = (2, 9), coverage 1 - 2/256 = 0.992.
    std::vector<double> v = {5, 9, 4, 2, 7, 4, 5, 4};
    const std::vector<double> before = v;
    cb_summary_t s = summarize(v);
    EXPECT_EQ(v, before); // input not modified
    EXPECT_EQ(s.n, 8u);
    EXPECT_DOUBLE_EQ(s.mean, 5.0);
    EXPECT_DOUBLE_EQ(s.stddev, sqrt(32.0 / 7.0));
    EXPECT_DOUBLE_EQ(s.median, 4.5);
    EXPECT_DOUBLE_EQ(s.cv, sqrt(32.0 / 7.0) / 5.0);
    EXPECT_EQ(s.min, 2);
    EXPECT_EQ(s.max, 9);
    EXPECT_EQ(s.ci95_lo, 2);
    EXPECT_EQ(s.ci95_hi, 9);
}

TEST(Summarize, HandComputedOddSampleWithNegativeMean)
{
    // Hand, {-1,-2,-6}: mean = -3; deviations 2,1,-3, squares 4+1+9 = 14;
    // sd = sqrt(14/2) = sqrt(7); median -2; cv = sqrt(7)/-3 (sign kept, the
    // header defines cv as stddev / mean).
    cb_summary_t s = summarize({-6, -1, -2});
    EXPECT_DOUBLE_EQ(s.mean, -3.0);
    EXPECT_DOUBLE_EQ(s.stddev, sqrt(7.0));
    EXPECT_EQ(s.median, -2);
    EXPECT_DOUBLE_EQ(s.cv, sqrt(7.0) / -3.0);
}

TEST(Summarize, ZeroMeanGivesZeroCv)
{
    // Header: cv = 0 when mean == 0. Hand: {-1, 1} has mean 0, sd sqrt(2).
    cb_summary_t s = summarize({-1, 1});
    EXPECT_EQ(s.mean, 0);
    EXPECT_DOUBLE_EQ(s.stddev, sqrt(2.0));
    EXPECT_EQ(s.cv, 0);
}

TEST(Summarize, SmallSpreadOnLargeMeanKeepsPrecision)
{
    // Hand: 1e9 + {1, 2, 3}: mean 1e9 + 2, deviations -1,0,1, sd = sqrt(2/2) = 1.
    // A one-pass sum of squares loses this entirely (1e18 against 2).
    cb_summary_t s = summarize({1e9 + 1, 1e9 + 2, 1e9 + 3});
    EXPECT_DOUBLE_EQ(s.mean, 1e9 + 2);
    EXPECT_DOUBLE_EQ(s.stddev, 1.0);
}

TEST(MedianCi, TooFewSamplesGiveMinAndMax)
{
    // n < 6: even (x(1), x(n)) covers only 1 - 2^(1-n) < 95% (n = 5: 93.75%),
    // so the function returns the min and max (documented in stats.c).
    for (size_t n = 2; n <= 5; n++) {
        cb_summary_t s = summarize(shuffled_ranks(n));
        EXPECT_EQ(s.ci95_lo, 1) << n;
        EXPECT_EQ(s.ci95_hi, (double)n) << n;
    }
}

TEST(MedianCi, OrderStatisticRanksSmallN)
{
    // Binomial(n, 1/2) by hand; j is the largest rank with P(B <= j-1) <= 0.025
    // and the interval is (x(j), x(n+1-j)):
    //   n = 6:  P(B<=0) = 1/64 = 0.0156; P(B<=1) = 7/64 = 0.109   -> j = 1
    //   n = 8:  P(B<=0) = 1/256;          P(B<=1) = 9/256 = 0.035  -> j = 1
    //   n = 9:  P(B<=1) = 10/512 = 0.0195; P(B<=2) = 46/512 = 0.090 -> j = 2
    //   n = 10: P(B<=1) = 11/1024 = 0.0107; P(B<=2) = 56/1024 = 0.0547 -> j = 2,
    //           coverage P(2<=B<=8) = 1 - 22/1024 = 0.9785, while (x(3), x(8))
    //           covers 1 - 112/1024 = 0.8906 < 0.95
    //   n = 11: P(B<=1) = 12/2048 = 0.0059; P(B<=2) = 67/2048 = 0.0327 -> j = 2
    //   n = 12: P(B<=2) = 79/4096 = 0.0193; P(B<=3) = 299/4096 = 0.073 -> j = 3
    // These agree with the tables in Conover, Practical Nonparametric
    // Statistics (n = 6..8: 1, 9..11: 2, 12..14: 3).
    const struct {
        size_t n, j;
    } cases[] = {{6, 1}, {8, 1}, {9, 2}, {10, 2}, {11, 2}, {12, 3}};
    for (const auto &c : cases) {
        cb_summary_t s = summarize(shuffled_ranks(c.n));
        EXPECT_EQ(s.ci95_lo, (double)c.j) << c.n;
        EXPECT_EQ(s.ci95_hi, (double)(c.n + 1 - c.j)) << c.n;
    }
}

TEST(MedianCi, Hundred)
{
    // Classic ranks 40 and 61 for n = 100. Checked with exact integer sums:
    // P(B <= 39) = 0.01760 <= 0.025 < P(B <= 40) = 0.02844; coverage of
    // (x(40), x(61)) is 0.9648.
    cb_summary_t s = summarize(shuffled_ranks(100));
    EXPECT_EQ(s.ci95_lo, 40);
    EXPECT_EQ(s.ci95_hi, 61);
    EXPECT_DOUBLE_EQ(s.median, 50.5);
}

TEST(MedianCi, OneMillion)
{
    // n = 10^6: normal approximation with continuity correction gives
    // r + 0.5 - 500000 <= -1.959964 * 500, r <= 499019.5, so j = 499020 and
    // n + 1 - j = 500981. Confirmed exactly with Python integers
    // (40 * sum_{i<j} C(n, i) <= 2^n holds for j = 499020 and fails for
    // 499021).
    cb_summary_t s = summarize(shuffled_ranks(1000000));
    EXPECT_EQ(s.ci95_lo, 499020);
    EXPECT_EQ(s.ci95_hi, 500981);
    EXPECT_DOUBLE_EQ(s.median, 500000.5);
}

TEST(Median, Basic)
{
    // By definition: odd n -> the middle value; even n -> mean of the two
    // middle values; input order does not matter and is not changed.
    std::vector<double> odd = {3, 1, 2};
    EXPECT_EQ(cb_stats_median(odd.data(), odd.size()), 2);
    EXPECT_EQ(odd, (std::vector<double>{3, 1, 2}));
    std::vector<double> even = {10, 1, 4, 3};
    EXPECT_EQ(cb_stats_median(even.data(), even.size()), 3.5);
    double one = 42;
    EXPECT_EQ(cb_stats_median(&one, 1), 42);
    EXPECT_TRUE(isnan(cb_stats_median(nullptr, 0)));
}

TEST(Median, HugeValuesDoNotOverflow)
{
    // (DBL_MAX + DBL_MAX) / 2 would be inf; the median of {max, max} is max.
    std::vector<double> v = {1.7976931348623157e308, 1.7976931348623157e308};
    EXPECT_EQ(cb_stats_median(v.data(), v.size()), 1.7976931348623157e308);
}

namespace
{
cb_mwu_t mwu(const std::vector<double> &x, const std::vector<double> &y)
{
    cb_mwu_t r;
    EXPECT_EQ(cb_stats_mann_whitney(x.data(), x.size(), y.data(), y.size(), &r), 0);
    return r;
}
} // namespace

TEST(MannWhitney, EmptySideIsInvalid)
{
    double a[] = {1, 2};
    cb_mwu_t r;
    EXPECT_EQ(cb_stats_mann_whitney(a, 0, a, 2, &r), -EINVAL);
    EXPECT_EQ(cb_stats_mann_whitney(a, 2, a, 0, &r), -EINVAL);
}

TEST(MannWhitney, ExactThreeByThreeSeparated)
{
    // No x beats any y: U1 = 0. C(6,3) = 20 equally likely orderings, one with
    // U = 0: P(U <= 0) = 1/20, two-sided p = 2/20 = 0.1.
    cb_mwu_t r = mwu({1, 2, 3}, {4, 5, 6});
    EXPECT_EQ(r.u, 0);
    EXPECT_EQ(r.exact, 1);
    EXPECT_EQ(r.z, 0);
    EXPECT_DOUBLE_EQ(r.p, 0.1);
    // Swapped: U1 = 3 * 3 = 9, the other tail, same p.
    r = mwu({4, 5, 6}, {1, 2, 3});
    EXPECT_EQ(r.u, 9);
    EXPECT_DOUBLE_EQ(r.p, 0.1);
}

TEST(MannWhitney, ExactFiveByFiveSeparated)
{
    // U1 = 0, one ordering of C(10,5) = 252: p = 2/252 = 0.0079365...
    cb_mwu_t r = mwu({1, 2, 3, 4, 5}, {6, 7, 8, 9, 10});
    EXPECT_EQ(r.u, 0);
    EXPECT_EQ(r.exact, 1);
    EXPECT_DOUBLE_EQ(r.p, 2.0 / 252.0);
}

TEST(MannWhitney, ExactInterleaved)
{
    // x = {1,3,5}, y = {2,4,6}: pairs with x > y are 3>2, 5>2, 5>4, U1 = 3.
    // Null counts of U = 0..9 for 3 x 3 are the partitions of U fitting a 3x3
    // box: 1,1,2,3,3,3,3,2,1,1 (sum 20). P(U <= 3) = 7/20,
    // P(U >= 3) = 16/20; p = 2 * 7/20 = 0.7.
    cb_mwu_t r = mwu({1, 3, 5}, {2, 4, 6});
    EXPECT_EQ(r.u, 3);
    EXPECT_EQ(r.exact, 1);
    EXPECT_DOUBLE_EQ(r.p, 0.7);
}

TEST(MannWhitney, ExactPIsCappedAtOne)
{
    // x = {1,4}, y = {2,3}: U1 = 2 (4>2, 4>3). 2 x 2 null counts for U = 0..4
    // are 1,1,2,1,1 (sum 6): P(U <= 2) = P(U >= 2) = 4/6, 2 * 4/6 = 4/3 -> 1.
    cb_mwu_t r = mwu({1, 4}, {2, 3});
    EXPECT_EQ(r.u, 2);
    EXPECT_EQ(r.exact, 1);
    EXPECT_EQ(r.p, 1.0);
}

TEST(MannWhitney, ScipyDocumentedExample)
{
    // scipy.stats.mannwhitneyu documentation: males = [19,22,16,29,24],
    // females = [20,11,17,12] -> statistic 17.0, pvalue 0.1111 (exact).
    // By hand: U1 counts male > female pairs: 19:3, 22:4, 16:2, 29:4, 24:4 =
    // 17. Null of 5 x 4 (126 orderings) is symmetric about 10, so
    // P(U >= 17) = P(U <= 3) = (1+1+2+3)/126 = 7/126; p = 14/126 = 1/9.
    cb_mwu_t r = mwu({19, 22, 16, 29, 24}, {20, 11, 17, 12});
    EXPECT_EQ(r.u, 17);
    EXPECT_EQ(r.exact, 1);
    EXPECT_DOUBLE_EQ(r.p, 1.0 / 9.0);
    // Swapped (4 x 5 table): U1 = 4*5 - 17 = 3, P(U <= 3) = 7/126, same p.
    r = mwu({20, 11, 17, 12}, {19, 22, 16, 29, 24});
    EXPECT_EQ(r.u, 3);
    EXPECT_EQ(r.exact, 1);
    EXPECT_DOUBLE_EQ(r.p, 1.0 / 9.0);
}

TEST(MannWhitney, ExactAtTheBound)
{
    // 50 x 50, separated: U1 = 0, p = 2 / C(100, 50) with
    // C(100, 50) = 100891344545564193334812497256 (Python math.comb), so
    // p = 1.98233060428366...e-29.
    std::vector<double> x, y;
    for (int i = 1; i <= 50; i++) {
        x.push_back(i);
        y.push_back(50 + i);
    }
    cb_mwu_t r = mwu(x, y);
    EXPECT_EQ(r.u, 0);
    EXPECT_EQ(r.exact, 1);
    EXPECT_NEAR(r.p / 1.9823306042836678e-29, 1.0, 1e-12);
}

TEST(MannWhitney, NormalApproximationWithTies)
{
    // x = {1,2,2,3}, y = {2,3,3,4,5}; pooled sorted 1,2,2,2,3,3,3,4,5 (N = 9).
    // Midranks: 1 -> 1; the three 2s share ranks 2..4 -> 3; the three 3s share
    // 5..7 -> 6; 4 -> 8; 5 -> 9.
    // R1 = 1 + 3 + 3 + 6 = 13; U1 = 13 - 4*5/2 = 3 (check by pairs: 0.5 + 0.5
    // + (1 + 0.5 + 0.5) = 3).
    // mu = 4*5/2 = 10. Ties: two groups of t = 3, sum(t^3 - t) = 24 + 24 = 48;
    // N(N-1) = 72; sigma^2 = 20/12 * (10 - 48/72) = 20/12 * 28/3 = 140/9,
    // sigma = 3.944053188733...
    // z = -(|3 - 10| - 0.5) / sigma = -6.5 / 3.944053 = -1.648050796720...
    // p = erfc(1.648050796720 / sqrt 2) = 0.099342247853 (Python math.erfc).
    cb_mwu_t r = mwu({1, 2, 2, 3}, {2, 3, 3, 4, 5});
    EXPECT_EQ(r.u, 3);
    EXPECT_EQ(r.exact, 0);
    EXPECT_NEAR(r.z, -1.6480507967206073, 1e-12);
    EXPECT_NEAR(r.p, 0.09934224785346527, 1e-12);
}

TEST(MannWhitney, NormalApproximationPastTheBound)
{
    // x = odd 1..119, y = even 2..120, 60 each, no ties, over the exact bound.
    // U1: x = 2k-1 beats the k-1 evens below it, sum_{k=1}^{60} (k-1) = 1770.
    // mu = 3600/2 = 1800; sigma^2 = 3600/12 * 121 = 36300, sigma = 190.5256;
    // z = -(30 - 0.5)/190.5256 = -0.154834844919;
    // p = erfc(0.154834844919 / sqrt 2) = 0.876951520187 (Python math.erfc).
    std::vector<double> x, y;
    for (int k = 1; k <= 60; k++) {
        x.push_back(2 * k - 1);
        y.push_back(2 * k);
    }
    cb_mwu_t r = mwu(x, y);
    EXPECT_EQ(r.u, 1770);
    EXPECT_EQ(r.exact, 0);
    EXPECT_NEAR(r.z, -0.154834844919036, 1e-12);
    EXPECT_NEAR(r.p, 0.8769515201868247, 1e-12);
}

TEST(MannWhitney, AllTiedGivesPOne)
{
    // Every pair ties, U1 = 3 * 2 * 0.5 = 3 = mu; sigma = 0, p = 1 by the
    // documented convention.
    cb_mwu_t r = mwu({2, 2, 2}, {2, 2});
    EXPECT_EQ(r.u, 3);
    EXPECT_EQ(r.exact, 0);
    EXPECT_EQ(r.z, 0);
    EXPECT_EQ(r.p, 1.0);
}

TEST(MannWhitney, SingleObservations)
{
    // 1 x 1, x < y: U1 = 0; the two orderings are equally likely,
    // p = 2 * 1/2 = 1.
    cb_mwu_t r = mwu({1}, {2});
    EXPECT_EQ(r.u, 0);
    EXPECT_EQ(r.exact, 1);
    EXPECT_EQ(r.p, 1.0);
}

namespace
{
// S(w) = 1 / (f + (1 - f) / w), Amdahl's law.
double amdahl(double f, double w)
{
    return 1.0 / (f + (1.0 - f) / w);
}
} // namespace

TEST(AmdahlFit, RecoversExactSerialFraction)
{
    const double w[] = {1, 2, 4, 8, 16};
    for (double f : {0.1, 0.0, 0.5, 1.0}) {
        double s[5];
        for (int i = 0; i < 5; i++)
            s[i] = amdahl(f, w[i]);
        EXPECT_NEAR(cb_stats_amdahl_fit(w, s, 5), f, 1e-12) << f;
    }
}

TEST(AmdahlFit, HandComputedTwoPoints)
{
    // w = {1, 2}, S = {1, 1.6}: only w = 2 informs f. x = 1 - 1/2 = 0.5,
    // y = 1/1.6 - 1/2 = 0.125, f = 0.125 * 0.5 / 0.25 = 0.25. Check: Amdahl
    // with f = 0.25 at w = 2 gives 1 / (0.25 + 0.375) = 1.6.
    const double w[] = {1, 2}, s[] = {1, 1.6};
    EXPECT_NEAR(cb_stats_amdahl_fit(w, s, 2), 0.25, 1e-15);
}

TEST(AmdahlFit, NoisyDataWithinTolerance)
{
    // f = 0.1 with +-3% multiplicative noise on S. Each point alone gives
    // f_i = y_i / x_i, and the fit is their average weighted by x_i^2, so it
    // is no farther from 0.1 than the worst f_i. S * (1 + e) moves 1/S by
    // (1/S) (1/(1 + e) - 1), at most 0.031 / S for |e| <= 0.03, so
    // |f_i - 0.1| <= 0.031 * (1/S) / x = 0.031 * 0.55 / 0.5 = 0.034 at w = 2
    // (1/S = 0.1 + 0.9/2) and less at larger w: within 0.035 of 0.1.
    // (Python, same data: f = 0.10053.)
    const double w[] = {1, 2, 4, 8, 16, 2, 4, 8};
    const double noise[] = {1.00, 1.03, 0.97, 1.02, 0.98, 0.97, 1.03, 0.99};
    double s[8];
    for (int i = 0; i < 8; i++)
        s[i] = amdahl(0.1, w[i]) * noise[i];
    double f = cb_stats_amdahl_fit(w, s, 8);
    EXPECT_NEAR(f, 0.1, 0.035);
}

TEST(AmdahlFit, ClampsToUnitInterval)
{
    // Superlinear S = 1.5 w: y = 1/(1.5w) - 1/w < 0, f < 0 -> 0.
    const double w[] = {2, 4};
    const double super[] = {3, 6};
    EXPECT_EQ(cb_stats_amdahl_fit(w, super, 2), 0.0);
    // Slowdown S = 0.5: y = 2 - 1/w > x = 1 - 1/w, f > 1 -> 1.
    const double slow[] = {0.5, 0.5};
    EXPECT_EQ(cb_stats_amdahl_fit(w, slow, 2), 1.0);
}

TEST(AmdahlFit, UndefinedCasesAreNaN)
{
    const double w[] = {1, 1, 1}, s[] = {1, 1.1, 0.9};
    EXPECT_TRUE(isnan(cb_stats_amdahl_fit(w, s, 0)));
    EXPECT_TRUE(isnan(cb_stats_amdahl_fit(w, s, 1)));
    // All w == 1: x = 0 everywhere, no information about f.
    EXPECT_TRUE(isnan(cb_stats_amdahl_fit(w, s, 3)));
    // A speedup of 0 or a worker count below 1 is not a measurement.
    const double w2[] = {1, 2}, s0[] = {1, 0}, w0[] = {0, 2}, s2[] = {1, 1.5};
    EXPECT_TRUE(isnan(cb_stats_amdahl_fit(w2, s0, 2)));
    EXPECT_TRUE(isnan(cb_stats_amdahl_fit(w0, s2, 2)));
}
