#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <uv.h>

#include "io/workers.h"
#include "vgtest.h"

typedef struct {
  vg_job_t *job;
  atomic_int slices_left;
  atomic_int ran;
  int slice_ms;           /* work per slice */
  atomic_int notified;
  int done_calls;
  pthread_t done_thread;
  uint64_t finished_ns;   /* when the last slice ended */
} job_t;

static void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

static bool run_cb(void *ud) {
  job_t *j = ud;
  if (j->slice_ms) sleep_ms(j->slice_ms);
  j->ran++;
  int left = --j->slices_left;
  if (left == 0) {
    j->finished_ns = uv_hrtime();
    j->notified++;
    vg_workers_notify(j->job);
  }
  return left > 0;
}

static void done_cb(void *ud) {
  job_t *j = ud;
  j->done_calls++;
  j->done_thread = pthread_self();
}

static void run_loop_until(uv_loop_t *loop, bool (*cond)(void *), void *arg, int max_ms) {
  uint64_t until = uv_hrtime() + (uint64_t)max_ms * 1000000ull;
  while (!cond(arg) && uv_hrtime() < until) {
    uv_run(loop, UV_RUN_NOWAIT);
    sleep_ms(1);
  }
}

static bool all_done(void *arg) {
  job_t *jobs = arg;
  for (int i = 0; i < 4; i++)
    if (jobs[i].done_calls == 0) return false;
  return true;
}

/* Four jobs on two workers, one of them slow (10 slices of 40 ms): the
 * three fast ones (10 slices of nothing) finish long before it, each slice
 * runs, and every `done` runs once on the loop thread. */
static void test_slices_fairness_and_done_on_loop(void) {
  uv_loop_t loop;
  CHECK_EQ(uv_loop_init(&loop), 0);
  vg_workers_t *w;
  CHECK_EQ(vg_workers_create(&loop, 2, &w), 0);
  CHECK_EQ(vg_workers_threads(w), 2);
  static job_t jobs[4];
  for (int i = 0; i < 4; i++) {
    jobs[i] = (job_t){.slices_left = 10, .slice_ms = i == 0 ? 40 : 0};
    vg_job_ops_t ops = {.run = run_cb, .done = done_cb, .ud = &jobs[i]};
    jobs[i].job = vg_job_create(w, &ops);
    CHECK(jobs[i].job != NULL);
  }
  uint64_t t0 = uv_hrtime();
  for (int i = 0; i < 4; i++) vg_workers_schedule(jobs[i].job);
  run_loop_until(&loop, all_done, jobs, 5000);
  for (int i = 0; i < 4; i++) {
    CHECK_EQ(jobs[i].ran, 10);
    CHECK_EQ(jobs[i].done_calls, 1);
    CHECK(pthread_equal(jobs[i].done_thread, pthread_self()));
  }
  /* the slow job took ~400 ms; the fast ones did not wait for it */
  for (int i = 1; i < 4; i++) CHECK(jobs[i].finished_ns - t0 < 200000000ull);
  CHECK(jobs[0].finished_ns - t0 >= 390000000ull);
  for (int i = 0; i < 4; i++) vg_job_destroy(jobs[i].job);
  vg_workers_destroy(w);
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK_EQ(uv_loop_close(&loop), 0);
}

/* Destroying a job mid-slice waits for the slice, and it never runs again. */
static void test_destroy_while_running(void) {
  uv_loop_t loop;
  CHECK_EQ(uv_loop_init(&loop), 0);
  vg_workers_t *w;
  CHECK_EQ(vg_workers_create(&loop, 1, &w), 0);
  static job_t j;
  j = (job_t){.slices_left = 1000, .slice_ms = 20};
  vg_job_ops_t ops = {.run = run_cb, .done = done_cb, .ud = &j};
  j.job = vg_job_create(w, &ops);
  vg_workers_schedule(j.job);
  sleep_ms(30);
  vg_job_destroy(j.job);
  int ran = j.ran;
  CHECK(ran >= 1);
  sleep_ms(60);
  CHECK_EQ(j.ran, ran); /* nothing after destroy */
  vg_workers_destroy(w);
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK_EQ(uv_loop_close(&loop), 0);
}

VGT_MAIN(VGT_CASE(test_slices_fairness_and_done_on_loop), VGT_CASE(test_destroy_while_running))
