/* What the benchmarks share: sorting samples to quote medians and percentiles. */
#ifndef NCSL_BENCH_STATS_H
#define NCSL_BENCH_STATS_H

#include <stddef.h>
#include <stdlib.h>

static int bench_cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Sorts v[0..n) ascending (n >= 1), so v[n / 2] is the median and v[0], v[n - 1] the extremes. */
static inline void bench_sort(double *v, size_t n) {
    qsort(v, n, sizeof(v[0]), bench_cmp_double);
}

#endif
