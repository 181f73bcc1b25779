#include "io/workers.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"

#define MAX_THREADS 64

enum { JOB_IDLE, JOB_QUEUED, JOB_RUNNING };

struct vg_job {
  vg_workers_t *pool;
  vg_job_ops_t ops;
  int state;          /* under pool->mu */
  bool again;         /* scheduled while running */
  bool dead;          /* destroyed: never run or notify again */
  bool notified;      /* on the done list */
  vg_job_t *next_run; /* run queue link */
  vg_job_t *next_done;
};

struct vg_workers {
  uv_loop_t *loop;
  uv_async_t async; /* wakes the loop for `done` callbacks */
  pthread_mutex_t mu;
  pthread_cond_t cv;      /* work queued, or stopping */
  pthread_cond_t idle_cv; /* a slice finished (for job destroy) */
  vg_job_t *head, *tail;  /* run queue */
  vg_job_t *done;         /* jobs with results */
  pthread_t threads[MAX_THREADS];
  size_t n_threads;
  bool stopping;
};

static void enqueue(vg_workers_t *w, vg_job_t *j) {
  j->state = JOB_QUEUED;
  j->next_run = NULL;
  if (w->tail) w->tail->next_run = j;
  else w->head = j;
  w->tail = j;
  pthread_cond_signal(&w->cv);
}

static void *worker_main(void *arg) {
  vg_workers_t *w = arg;
  pthread_mutex_lock(&w->mu);
  for (;;) {
    while (!w->head && !w->stopping) pthread_cond_wait(&w->cv, &w->mu);
    if (w->stopping) break;
    vg_job_t *j = w->head;
    w->head = j->next_run;
    if (!w->head) w->tail = NULL;
    j->state = JOB_RUNNING;
    j->again = false;
    pthread_mutex_unlock(&w->mu);
    bool more = j->ops.run(j->ops.ud);
    pthread_mutex_lock(&w->mu);
    if (!j->dead && (more || j->again)) enqueue(w, j);
    else j->state = JOB_IDLE;
    pthread_cond_broadcast(&w->idle_cv);
  }
  pthread_mutex_unlock(&w->mu);
  return NULL;
}

static void on_async(uv_async_t *a) {
  vg_workers_t *w = a->data;
  /* One job at a time, under the lock: a `done` callback may destroy any
   * job, which takes it off this list. */
  for (;;) {
    pthread_mutex_lock(&w->mu);
    vg_job_t *j = w->done;
    if (j) {
      w->done = j->next_done;
      j->notified = false;
    }
    pthread_mutex_unlock(&w->mu);
    if (!j) break;
    j->ops.done(j->ops.ud);
  }
}

int vg_workers_create(uv_loop_t *loop, size_t n_threads, vg_workers_t **out) {
  *out = NULL;
  if (n_threads == 0) {
    unsigned n = uv_available_parallelism();
    n_threads = n ? n : 2;
  }
  if (n_threads > MAX_THREADS) n_threads = MAX_THREADS;
  vg_workers_t *w = calloc(1, sizeof *w);
  if (!w) return UV_ENOMEM;
  w->loop = loop;
  pthread_mutex_init(&w->mu, NULL);
  pthread_cond_init(&w->cv, NULL);
  pthread_cond_init(&w->idle_cv, NULL);
  int r = uv_async_init(loop, &w->async, on_async);
  if (r < 0) {
    free(w);
    return r;
  }
  w->async.data = w;
  for (size_t i = 0; i < n_threads; i++) {
    if (pthread_create(&w->threads[i], NULL, worker_main, w) != 0) break;
    w->n_threads++;
  }
  if (w->n_threads == 0) {
    vg_workers_destroy(w);
    return UV_EAGAIN;
  }
  *out = w;
  return 0;
}

static void async_closed(uv_handle_t *h) {
  vg_workers_t *w = h->data;
  pthread_mutex_destroy(&w->mu);
  pthread_cond_destroy(&w->cv);
  pthread_cond_destroy(&w->idle_cv);
  free(w);
}

void vg_workers_destroy(vg_workers_t *w) {
  if (!w) return;
  pthread_mutex_lock(&w->mu);
  w->stopping = true;
  pthread_cond_broadcast(&w->cv);
  pthread_mutex_unlock(&w->mu);
  for (size_t i = 0; i < w->n_threads; i++) pthread_join(w->threads[i], NULL);
  /* Jobs still queued belong to their owners (destroyed by them). */
  uv_close((uv_handle_t *)&w->async, async_closed);
}

size_t vg_workers_threads(const vg_workers_t *w) { return w->n_threads; }

vg_job_t *vg_job_create(vg_workers_t *w, const vg_job_ops_t *ops) {
  vg_job_t *j = calloc(1, sizeof *j);
  if (!j) return NULL;
  j->pool = w;
  j->ops = *ops;
  return j;
}

void vg_job_destroy(vg_job_t *j) {
  if (!j) return;
  vg_workers_t *w = j->pool;
  pthread_mutex_lock(&w->mu);
  j->dead = true;
  /* out of the run queue */
  for (vg_job_t **p = &w->head; *p; p = &(*p)->next_run) {
    if (*p != j) continue;
    *p = j->next_run;
    if (w->tail == j) {
      w->tail = NULL;
      for (vg_job_t *t = w->head; t; t = t->next_run) w->tail = t;
    }
    break;
  }
  /* out of the done list */
  for (vg_job_t **p = &w->done; *p; p = &(*p)->next_done) {
    if (*p == j) {
      *p = j->next_done;
      break;
    }
  }
  /* A slice in progress finishes first, so the caller may free what `ud`
   * points to as soon as we return. Workers never free jobs. */
  while (j->state == JOB_RUNNING) pthread_cond_wait(&w->idle_cv, &w->mu);
  pthread_mutex_unlock(&w->mu);
  free(j);
}

void vg_workers_schedule(vg_job_t *j) {
  vg_workers_t *w = j->pool;
  pthread_mutex_lock(&w->mu);
  if (!j->dead) {
    if (j->state == JOB_IDLE) enqueue(w, j);
    else if (j->state == JOB_RUNNING) j->again = true;
  }
  pthread_mutex_unlock(&w->mu);
}

void vg_workers_notify(vg_job_t *j) {
  vg_workers_t *w = j->pool;
  pthread_mutex_lock(&w->mu);
  if (!j->dead && !j->notified) {
    j->notified = true;
    j->next_done = w->done;
    w->done = j;
  }
  pthread_mutex_unlock(&w->mu);
  uv_async_send(&w->async);
}
