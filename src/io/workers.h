/* The worker pool: the only threads in voxgate. Speech recognition (Opus
 * decoding, the engine) runs here, never on the network thread.
 *
 * Work is organised in jobs, one per session. A job is scheduled when it
 * has something to do; a scheduled job runs on one worker at a time (so a
 * session's state needs no lock of its own against itself), in slices: its
 * `run` callback does a bounded amount and returns true when more remains,
 * and the job goes to the back of the queue. So a slow session delays only
 * itself, and the sessions share the workers round-robin.
 *
 * Results come back to the loop thread: a job calls vg_workers_notify(),
 * and the job's `done` callback then runs on the loop thread (once per
 * batch of notifications: it must drain everything pending).
 *
 *   loop thread                        workers
 *   push audio, vg_workers_schedule ─► run(job) ... run(job)
 *   done(job) ◄─ uv_async ◄──────────── vg_workers_notify(job)
 */
#ifndef VG_IO_WORKERS_H
#define VG_IO_WORKERS_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

typedef struct vg_workers vg_workers_t;
typedef struct vg_job vg_job_t;

typedef struct {
  /* On a worker: does one bounded slice of the job's work; returns true
   * when more remains (the job is queued again, behind the others). */
  bool (*run)(void *ud);
  /* On the loop thread, after vg_workers_notify(). */
  void (*done)(void *ud);
  void *ud;
} vg_job_ops_t;

/* Starts `n_threads` workers (0 = one per core) on `loop`. Returns a
 * negative libuv error on failure. */
int vg_workers_create(uv_loop_t *loop, size_t n_threads, vg_workers_t **out);
/* Stops the workers after their current slices and joins them; pending
 * jobs are not run again. Then frees the pool (after the loop closed the
 * async handle: call before the loop's last run). */
void vg_workers_destroy(vg_workers_t *w);
size_t vg_workers_threads(const vg_workers_t *w);

/* A job (ops copied). Loop thread only. */
vg_job_t *vg_job_create(vg_workers_t *w, const vg_job_ops_t *ops);
/* Detaches the job: it is never run again once this returns (waits for a
 * slice in progress to finish), and its `done` is not called again. Loop
 * thread only. */
void vg_job_destroy(vg_job_t *job);

/* Asks for the job to be run (no-op when already queued or running: a
 * running job that returns false is re-queued if scheduled meanwhile).
 * Any thread. */
void vg_workers_schedule(vg_job_t *job);
/* From a worker: the job has results; its `done` runs on the loop thread. */
void vg_workers_notify(vg_job_t *job);

#endif
