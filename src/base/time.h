/* Time as the core sees it: microseconds on a monotonic clock that the
 * caller owns. The core never reads a clock; every input carries `now`. */
#ifndef VG_BASE_TIME_H
#define VG_BASE_TIME_H

#include <stdint.h>

typedef int64_t vg_time_t;

#define VG_TIME_NEVER INT64_MAX
#define VG_USEC(x) ((vg_time_t)(x))
#define VG_MSEC(x) ((vg_time_t)(x) * 1000)
#define VG_SEC(x) ((vg_time_t)(x) * 1000000)

static inline vg_time_t vg_time_min(vg_time_t a, vg_time_t b) { return a < b ? a : b; }

#endif
