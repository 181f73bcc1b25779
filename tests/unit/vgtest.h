/* A small test harness: one executable per test file, a list that names
 * every test, failures reported with file and line.
 *
 *   static void test_parse(void) { CHECK(x == 1); CHECK_EQ(a, b); }
 *   VGT_MAIN(VGT_CASE(test_parse), VGT_CASE(test_build))
 *
 * Run one test by name: ./unit_core_test_stun test_parse */
#ifndef VG_TEST_H
#define VG_TEST_H

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  const char *name;
  void (*fn)(void);
} vgt_case_t;

static int vgt_current_failed;

static inline void vgt_fail(const char *file, int line, const char *what) {
  fprintf(stderr, "  %s:%d: check failed: %s\n", file, line, what);
  vgt_current_failed = 1;
}

/* Stop the current test on the first failed check. */
#define CHECK(cond)                                                            \
  do {                                                                         \
    if (!(cond)) {                                                             \
      vgt_fail(__FILE__, __LINE__, #cond);                                     \
      return;                                                                  \
    }                                                                          \
  } while (0)

#define CHECK_EQ(a, b)                                                         \
  do {                                                                         \
    long long vgt_a = (long long)(a), vgt_b = (long long)(b);                  \
    if (vgt_a != vgt_b) {                                                      \
      char vgt_m[256];                                                         \
      snprintf(vgt_m, sizeof vgt_m, "%s == %s (%lld != %lld)", #a, #b, vgt_a,  \
               vgt_b);                                                         \
      vgt_fail(__FILE__, __LINE__, vgt_m);                                     \
      return;                                                                  \
    }                                                                          \
  } while (0)

#define CHECK_STR(a, b)                                                        \
  do {                                                                         \
    const char *vgt_a = (a), *vgt_b = (b);                                     \
    if (!vgt_a || !vgt_b || strcmp(vgt_a, vgt_b) != 0) {                       \
      char vgt_m[512];                                                         \
      snprintf(vgt_m, sizeof vgt_m, "%s == %s (\"%s\" != \"%s\")", #a, #b,     \
               vgt_a ? vgt_a : "(null)", vgt_b ? vgt_b : "(null)");            \
      vgt_fail(__FILE__, __LINE__, vgt_m);                                     \
      return;                                                                  \
    }                                                                          \
  } while (0)

#define CHECK_MEM(a, b, n)                                                     \
  do {                                                                         \
    if (memcmp((a), (b), (n)) != 0) {                                          \
      vgt_fail(__FILE__, __LINE__, "memcmp(" #a ", " #b ", " #n ") == 0");     \
      return;                                                                  \
    }                                                                          \
  } while (0)

#define VGT_CASE(fn) {#fn, fn}

static inline int vgt_run(const vgt_case_t *cases, size_t n, int argc, char **argv) {
  int failed = 0, ran = 0;
  /* Line-buffered, so results survive a sanitizer's exit when piped. */
  setvbuf(stdout, NULL, _IOLBF, 0);
  for (size_t i = 0; i < n; i++) {
    if (argc > 1 && strcmp(argv[1], cases[i].name) != 0) continue;
    vgt_current_failed = 0;
    cases[i].fn();
    ran++;
    printf("%s %s\n", vgt_current_failed ? "FAIL" : "ok  ", cases[i].name);
    failed += vgt_current_failed;
  }
  printf("%d passed, %d failed\n", ran - failed, failed);
  if (ran == 0) {
    fprintf(stderr, "no test named %s\n", argc > 1 ? argv[1] : "(none)");
    return 2;
  }
  return failed ? 1 : 0;
}

#define VGT_MAIN(...)                                                          \
  int main(int argc, char **argv) {                                            \
    static const vgt_case_t vgt_cases[] = {__VA_ARGS__};                       \
    return vgt_run(vgt_cases, sizeof vgt_cases / sizeof vgt_cases[0], argc,    \
                   argv);                                                      \
  }

#endif
