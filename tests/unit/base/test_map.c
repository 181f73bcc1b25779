#include <stdio.h>
#include <string.h>

#include "base/map.h"
#include "vgtest.h"

static void test_put_get_del_replace(void) {
  vg_map_t m;
  CHECK_EQ(vg_map_init(&m), VG_OK);
  int a = 1, b = 2;
  CHECK_EQ(vg_map_put(&m, "alpha", 5, &a), VG_OK);
  CHECK_EQ(vg_map_put(&m, "alp", 3, &b), VG_OK); /* a prefix is another key */
  CHECK(vg_map_get(&m, "alpha", 5) == &a);
  CHECK(vg_map_get(&m, "alp", 3) == &b);
  CHECK(vg_map_get(&m, "alph", 4) == NULL);
  CHECK_EQ(vg_map_put(&m, "alpha", 5, &b), VG_OK); /* replace */
  CHECK(vg_map_get(&m, "alpha", 5) == &b);
  CHECK_EQ(vg_map_count(&m), 2);
  CHECK(vg_map_del(&m, "alpha", 5) == &b);
  CHECK(vg_map_get(&m, "alpha", 5) == NULL);
  CHECK(vg_map_del(&m, "alpha", 5) == NULL);
  CHECK_EQ(vg_map_count(&m), 1);
  char big[VG_MAP_KEY_MAX + 1] = {0};
  CHECK_EQ(vg_map_put(&m, big, sizeof big, &a), VG_EINVAL);
  CHECK_EQ(vg_map_put(&m, "", 0, &a), VG_EINVAL);
  vg_map_cleanup(&m);
}

static void count_cb(void *ud, void *val) {
  (void)val;
  (*(int *)ud)++;
}

static void test_growth_and_tombstones(void) {
  enum { N = 20000 };
  static int vals[N];
  vg_map_t m;
  CHECK_EQ(vg_map_init(&m), VG_OK);
  char k[32];
  for (int round = 0; round < 3; round++) {
    for (int i = 0; i < N; i++) {
      int n = snprintf(k, sizeof k, "key-%d-%d", round, i);
      CHECK_EQ(vg_map_put(&m, k, (size_t)n, &vals[i]), VG_OK);
    }
    int seen = 0;
    vg_map_each(&m, count_cb, &seen);
    CHECK_EQ(seen, N);
    for (int i = 0; i < N; i++) {
      int n = snprintf(k, sizeof k, "key-%d-%d", round, i);
      CHECK(vg_map_get(&m, k, (size_t)n) == &vals[i]);
      CHECK(vg_map_del(&m, k, (size_t)n) == &vals[i]);
    }
    CHECK_EQ(vg_map_count(&m), 0);
  }
  /* churn did not grow the table without bound: tombstones are recycled */
  CHECK(m.n <= 4 * 65536);
  vg_map_cleanup(&m);
}

VGT_MAIN(VGT_CASE(test_put_get_del_replace), VGT_CASE(test_growth_and_tombstones))
