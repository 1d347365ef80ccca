#include "lib/core/clock.h"

#include <gtest/gtest.h>

TEST(Clock, Monotonic)
{
    uint64_t a = cb_now_ns();
    uint64_t b = cb_now_ns();
    EXPECT_LE(a, b);
}
