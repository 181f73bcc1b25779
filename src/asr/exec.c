/* The exec engine: `exec:COMMAND` runs one child process per stream
 * (per session) and talks to it over pipes. This is how a team plugs in its
 * own model (Python, a GPU) without touching C; see
 * examples/asr_engine_example.py for a template.
 *
 * The child: `/bin/sh -c COMMAND`, in its own process group, with
 * VOXGATE_SAMPLE_RATE=16000 and VOXGATE_SESSION=<session id> in its
 * environment.
 *
 *   stdin   16 kHz mono signed 16-bit little-endian PCM, as it arrives
 *   stdout  one JSON object per line:
 *             {"partial": "what is heard so far"}
 *             {"text": "the utterance", "start": 1.20, "end": 2.85,
 *              "words": [{"word": "the", "start": 1.20, "end": 1.31}, ...]}
 *             {"error": "a reason shown to the user"}
 *           times are seconds of the child's input; "start", "end" and
 *           "words" are optional
 *   stderr  logged by the server, prefixed with the session id
 *   EOF on stdin: the user stopped. Print the last result and exit 0.
 *
 * Each child does its own speech start/end detection and prints a "text"
 * line once per utterance. One child per session means one model instance
 * per session: a model that is expensive to load should be served by one
 * process (a local server) that the child forwards to, or use the ws:
 * engine.
 *
 * Failures end that session's stream only, with one ERROR: the child exits
 * or crashes ("engine exited with status 1: <its last stderr line>",
 * "engine killed by signal 11"), or stops reading its input for
 * VG_EXEC_STALL_MS ("engine is not reading its input"). Pipes are
 * non-blocking; at most VG_EXEC_PENDING_BYTES of audio wait on our side.
 * Destroying the stream terminates the child's process group (SIGTERM,
 * then SIGKILL) and reaps the child: no zombies. */
#define _GNU_SOURCE /* pipe2 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "asr/engine_internal.h"
#include "asr/wire.h"
#include "base/log.h"

extern char **environ;

/* The child's stdin full (no progress) this long: it is not reading. */
#define VG_EXEC_STALL_MS 5000
/* Audio buffered on our side beyond the pipe: 10 s. A child reading in
 * real time never lets this fill; feeding faster than real time waits for
 * the child (bounded by the stall limit). */
#define VG_EXEC_PENDING_BYTES (10 * VG_ASR_SAMPLE_RATE * 2)
/* The longest stdout line accepted (a long final with word times fits). */
#define VG_EXEC_LINE_MAX (256 * 1024)
/* The longest stderr line logged as one line. */
#define VG_EXEC_ERR_LINE_MAX 1024
/* After EOF on stdin (end_utterance), the child has this long to print
 * its last result and exit. */
#define VG_EXEC_END_WAIT_MS 5000
/* After the child closes its stdout, how long to wait for its exit status. */
#define VG_EXEC_EXIT_WAIT_MS 2000
/* Destroy: SIGTERM, then SIGKILL after this long. */
#define VG_EXEC_TERM_WAIT_MS 500

typedef struct {
  char *cmd; /* owned */
} exec_engine_t;

typedef struct {
  exec_engine_t *eng; /* borrowed */
  char sid[64];
  pid_t pid;          /* the running child (also its process group), or 0 */
  int in_fd, out_fd, err_fd; /* our pipe ends, -1 when closed */
  uint8_t *pending;   /* owned: audio bytes not yet in the pipe */
  size_t pending_len;
  int64_t stall_since; /* ms when writing stopped making progress, or 0 */
  char *line;         /* owned: the stdout line being assembled */
  size_t line_len;
  bool line_skip;     /* dropping an overlong line up to its newline */
  char err_line[VG_EXEC_ERR_LINE_MAX];
  size_t err_len;
  char last_err[256]; /* the child's last non-empty stderr line */
  uint64_t fed;       /* samples fed: the stream clock */
  double base;        /* stream seconds at which the current child started */
  bool ending;        /* we closed stdin (end_utterance): exit 0 is expected */
  bool failed;
  vg_asr_queue_t q;
} exec_stream_t;

/* ---- engine ---- */

static int exec_engine_create(const char *arg, const vg_asr_options_t *opt, void **impl,
                              char *err, size_t err_cap) {
  (void)opt;
  if (!arg || !*arg) {
    vg_asr_set_err(err, err_cap, "exec engine: no command (use exec:COMMAND)");
    return VG_EINVAL;
  }
  exec_engine_t *e = calloc(1, sizeof *e);
  if (!e) return VG_ENOMEM;
  e->cmd = strdup(arg);
  if (!e->cmd) {
    free(e);
    return VG_ENOMEM;
  }
  VG_LOG(VG_LOG_INFO, NULL, "asr: exec engine, one child per session: /bin/sh -c %s", e->cmd);
  *impl = e;
  return VG_OK;
}

static void exec_engine_destroy(void *impl) {
  exec_engine_t *e = impl;
  if (!e) return;
  free(e->cmd);
  free(e);
}

/* ---- the child process ---- */

static void close_fd(int *fd) {
  if (*fd >= 0) close(*fd);
  *fd = -1;
}

/* The environment for the child: ours, with the two VOXGATE_ variables
 * set. The strings are borrowed from environ except the two we add. */
static char **child_env(char *rate, char *session) {
  size_t n = 0;
  while (environ && environ[n]) n++;
  char **env = calloc(n + 3, sizeof *env);
  if (!env) return NULL;
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    if (strncmp(environ[i], "VOXGATE_SAMPLE_RATE=", 20) == 0 ||
        strncmp(environ[i], "VOXGATE_SESSION=", 16) == 0)
      continue;
    env[k++] = environ[i];
  }
  env[k++] = rate;
  env[k++] = session;
  env[k] = NULL;
  return env;
}

/* Starts the child with three fresh pipes. posix_spawn (not fork) so this
 * is safe from a worker thread of a multi-threaded server; every pipe end
 * is close-on-exec, so children spawned by other threads never inherit
 * them. */
static int spawn_child(exec_stream_t *s, char *err, size_t err_cap) {
  int in[2] = {-1, -1}, out[2] = {-1, -1}, errp[2] = {-1, -1};
  char rate[64], session[96];
  snprintf(rate, sizeof rate, "VOXGATE_SAMPLE_RATE=%d", VG_ASR_SAMPLE_RATE);
  snprintf(session, sizeof session, "VOXGATE_SESSION=%s", s->sid);
  char **env = NULL;
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  bool fa_ok = false, attr_ok = false;
  int rc = VG_ENOMEM;

  if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0) {
    vg_asr_set_err(err, err_cap, "exec engine: pipe: %s", strerror(errno));
    rc = VG_ELIMIT;
    goto done;
  }
  env = child_env(rate, session);
  if (!env || posix_spawn_file_actions_init(&fa) != 0) goto done;
  fa_ok = true;
  if (posix_spawnattr_init(&attr) != 0) goto done;
  attr_ok = true;
  /* dup2 clears close-on-exec on the child's 0, 1, 2. */
  if (posix_spawn_file_actions_adddup2(&fa, in[0], 0) != 0 ||
      posix_spawn_file_actions_adddup2(&fa, out[1], 1) != 0 ||
      posix_spawn_file_actions_adddup2(&fa, errp[1], 2) != 0)
    goto done;
  /* Its own process group (destroy signals the group: the shell and what
   * it started), no blocked signals, default dispositions for the signals
   * a server commonly ignores or handles. */
  sigset_t none, defaults;
  sigemptyset(&none);
  sigemptyset(&defaults);
  int sigs[] = {SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGCHLD, SIGUSR1, SIGUSR2, SIGALRM, SIGQUIT};
  for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) sigaddset(&defaults, sigs[i]);
  if (posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
                                          POSIX_SPAWN_SETSIGDEF) != 0 ||
      posix_spawnattr_setpgroup(&attr, 0) != 0 || posix_spawnattr_setsigmask(&attr, &none) != 0 ||
      posix_spawnattr_setsigdefault(&attr, &defaults) != 0)
    goto done;

  char *argv[] = {"sh", "-c", s->eng->cmd, NULL};
  pid_t pid;
  int e = posix_spawn(&pid, "/bin/sh", &fa, &attr, argv, env);
  if (e != 0) {
    vg_asr_set_err(err, err_cap, "exec engine: cannot start /bin/sh: %s", strerror(e));
    rc = VG_ELIMIT;
    goto done;
  }
  s->pid = pid;
  s->in_fd = in[1];
  s->out_fd = out[0];
  s->err_fd = errp[0];
  in[1] = out[0] = errp[0] = -1;
  fcntl(s->in_fd, F_SETFL, O_NONBLOCK);
  fcntl(s->out_fd, F_SETFL, O_NONBLOCK);
  fcntl(s->err_fd, F_SETFL, O_NONBLOCK);
  s->base = (double)s->fed / VG_ASR_SAMPLE_RATE;
  s->ending = false;
  s->stall_since = 0;
  s->line_len = 0;
  s->line_skip = false;
  s->err_len = 0;
  VG_LOG(VG_LOG_DEBUG, s->sid, "asr exec: started child %d", (int)pid);
  rc = VG_OK;
done:
  if (fa_ok) posix_spawn_file_actions_destroy(&fa);
  if (attr_ok) posix_spawnattr_destroy(&attr);
  free(env);
  for (int i = 0; i < 2; i++) {
    close_fd(&in[i]);
    close_fd(&out[i]);
    close_fd(&errp[i]);
  }
  if (rc == VG_ENOMEM) vg_asr_set_err(err, err_cap, "exec engine: out of memory");
  return rc;
}

/* Waits up to wait_ms for the child to exit; true and *status when it did
 * (the child is reaped). */
static bool reap(exec_stream_t *s, int wait_ms, int *status) {
  int64_t deadline = vg_asr_now_ms() + wait_ms;
  for (;;) {
    pid_t r = waitpid(s->pid, status, WNOHANG);
    if (r == s->pid) break;
    if (r < 0 && errno != EINTR) {
      /* ECHILD: someone else reaped it (SIGCHLD ignored). */
      *status = -1;
      break;
    }
    if (vg_asr_now_ms() >= deadline) return false;
    struct timespec ts = {0, 5 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
  /* Whatever the shell left behind in its group goes with it. The group id
   * cannot have been reused while any member lives. */
  kill(-s->pid, SIGKILL);
  s->pid = 0;
  return true;
}

static const char *signal_name(int sig) {
  switch (sig) {
  case SIGSEGV: return "SIGSEGV";
  case SIGABRT: return "SIGABRT";
  case SIGKILL: return "SIGKILL";
  case SIGTERM: return "SIGTERM";
  case SIGBUS: return "SIGBUS";
  case SIGFPE: return "SIGFPE";
  case SIGILL: return "SIGILL";
  case SIGINT: return "SIGINT";
  case SIGPIPE: return "SIGPIPE";
  default: return "";
  }
}

/* Turns the child's exit into the stream's one ERROR (or nothing, when it
 * exited 0 after we closed its input). */
static void report_exit(exec_stream_t *s, int status) {
  char why[400];
  if (status == -1) {
    snprintf(why, sizeof why, "engine exited (status unknown)");
  } else if (WIFSIGNALED(status)) {
    int sig = WTERMSIG(status);
    const char *name = signal_name(sig);
    int k = snprintf(why, sizeof why, "engine killed by signal %d", sig);
    if (*name && k > 0 && (size_t)k < sizeof why)
      k += snprintf(why + k, sizeof why - (size_t)k, " (%s)", name);
    if (s->last_err[0] && k > 0 && (size_t)k < sizeof why)
      snprintf(why + k, sizeof why - (size_t)k, ": %s", s->last_err);
  } else if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && s->ending) {
    return; /* the normal end after EOF */
  } else if (s->last_err[0]) {
    snprintf(why, sizeof why, "engine exited with status %d: %s", WEXITSTATUS(status),
             s->last_err);
  } else {
    snprintf(why, sizeof why, "engine exited with status %d", WEXITSTATUS(status));
  }
  vg_asr_queue_error(&s->q, "%s", why);
  s->failed = true;
  VG_LOG(VG_LOG_WARN, s->sid, "asr exec: %s", why);
}

/* Terminates the child's group: SIGTERM, SIGKILL after a short wait, and
 * reaps it. */
static void terminate(exec_stream_t *s) {
  if (!s->pid) return;
  int status;
  kill(-s->pid, SIGTERM);
  if (!reap(s, VG_EXEC_TERM_WAIT_MS, &status)) {
    kill(-s->pid, SIGKILL);
    if (!reap(s, 2000, &status))
      VG_LOG(VG_LOG_ERROR, s->sid, "asr exec: child %d did not die on SIGKILL", (int)s->pid);
  }
}

static void fail(exec_stream_t *s, const char *why) {
  vg_asr_queue_error(&s->q, "%s", why);
  s->failed = true;
  VG_LOG(VG_LOG_WARN, s->sid, "asr exec: %s", why);
  close_fd(&s->in_fd);
  terminate(s);
}

/* ---- the child's output ---- */

static void handle_line(exec_stream_t *s, char *line, size_t len) {
  while (len && (line[len - 1] == '\r' || line[len - 1] == ' ')) len--;
  if (len == 0) return;
  const char *why = NULL;
  int rc = vg_asr_wire_result(&s->q, line, len, s->base, (double)s->fed / VG_ASR_SAMPLE_RATE,
                              &why);
  if (rc == VG_EPROTO) {
    VG_LOG(VG_LOG_WARN, s->sid, "asr exec: ignoring a line that is %s: %.*s", why,
           (int)(len < 80 ? len : 80), line);
  } else if (rc == VG_ECLOSED) { /* {"error": ...}: the ERROR is queued */
    s->failed = true;
    VG_LOG(VG_LOG_WARN, s->sid, "asr exec: the engine reported an error: %.*s",
           (int)(len < 200 ? len : 200), line);
    close_fd(&s->in_fd);
    terminate(s);
  }
}

/* Reads what stdout has; false at EOF or error. */
static bool read_stdout(exec_stream_t *s) {
  char buf[4096];
  for (;;) {
    ssize_t k = read(s->out_fd, buf, sizeof buf);
    if (k < 0 && errno == EINTR) continue;
    if (k < 0 && errno == EAGAIN) return true;
    if (k <= 0) return false;
    for (ssize_t i = 0; i < k; i++) {
      if (buf[i] == '\n') {
        if (!s->line_skip) handle_line(s, s->line, s->line_len);
        s->line_len = 0;
        s->line_skip = false;
      } else if (!s->line_skip) {
        if (s->line_len == VG_EXEC_LINE_MAX) {
          VG_LOG(VG_LOG_WARN, s->sid, "asr exec: dropping a line over %d bytes",
                 VG_EXEC_LINE_MAX);
          s->line_skip = true;
          s->line_len = 0;
        } else {
          s->line[s->line_len++] = buf[i];
        }
      }
    }
  }
}

static void err_line_done(exec_stream_t *s) {
  s->err_line[s->err_len] = '\0';
  size_t n = s->err_len;
  s->err_len = 0;
  while (n && (s->err_line[n - 1] == '\r' || s->err_line[n - 1] == ' ')) s->err_line[--n] = '\0';
  if (n == 0) return;
  VG_LOG(VG_LOG_INFO, s->sid, "asr exec stderr: %s", s->err_line);
  size_t k = n < sizeof s->last_err - 1 ? n : sizeof s->last_err - 1;
  memcpy(s->last_err, s->err_line, k);
  s->last_err[k] = '\0';
}

/* Reads what stderr has, logging whole lines; false at EOF or error. */
static bool read_stderr(exec_stream_t *s) {
  char buf[1024];
  for (;;) {
    ssize_t k = read(s->err_fd, buf, sizeof buf);
    if (k < 0 && errno == EINTR) continue;
    if (k < 0 && errno == EAGAIN) return true;
    if (k <= 0) {
      err_line_done(s);
      return false;
    }
    for (ssize_t i = 0; i < k; i++) {
      if (buf[i] == '\n' || s->err_len == sizeof s->err_line - 1) err_line_done(s);
      if (buf[i] != '\n') s->err_line[s->err_len++] = buf[i];
    }
  }
}

/* The child closed its stdout or its stdin: collect its exit. */
static void child_gone(exec_stream_t *s) {
  if (s->err_fd >= 0) {
    while (read_stderr(s)) {
      struct pollfd p = {s->err_fd, POLLIN, 0};
      if (poll(&p, 1, 100) <= 0) break;
    }
    close_fd(&s->err_fd);
  }
  close_fd(&s->out_fd);
  close_fd(&s->in_fd);
  int status;
  if (!s->pid) return;
  if (reap(s, VG_EXEC_EXIT_WAIT_MS, &status)) {
    report_exit(s, status);
  } else if (!s->ending) {
    fail(s, "engine closed its output");
  } else {
    terminate(s);
  }
}

/* ---- writing audio ---- */

/* write() that cannot raise SIGPIPE in this process: SIGPIPE is blocked
 * for the call on this thread and a SIGPIPE it caused is consumed. */
static ssize_t write_nosigpipe(int fd, const void *buf, size_t len) {
  sigset_t pipe_set, old, pending;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  sigpending(&pending);
  bool was_pending = sigismember(&pending, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
  ssize_t k = write(fd, buf, len);
  int saved = errno;
  if (k < 0 && saved == EPIPE && !was_pending) {
    struct timespec zero = {0, 0};
    while (sigtimedwait(&pipe_set, NULL, &zero) < 0 && errno == EINTR) {
    }
  }
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  errno = saved;
  return k;
}

/* Moves pending audio into the pipe and reads the child's output, waiting
 * up to wait_ms for progress (0: only what is possible now). Stops early
 * when `until_empty` and nothing is pending. */
static void pump(exec_stream_t *s, int wait_ms, bool until_drained) {
  int64_t deadline = vg_asr_now_ms() + wait_ms;
  for (;;) {
    if (s->failed) return;
    if (s->pending_len && s->in_fd >= 0) {
      ssize_t k = write_nosigpipe(s->in_fd, s->pending, s->pending_len);
      if (k > 0) {
        memmove(s->pending, s->pending + k, s->pending_len - (size_t)k);
        s->pending_len -= (size_t)k;
        s->stall_since = 0;
      } else if (k < 0 && errno == EPIPE) {
        child_gone(s); /* it closed its stdin: exited or about to */
        if (!s->failed) fail(s, "engine closed its input");
        return;
      } else if (k < 0 && errno != EAGAIN && errno != EINTR) {
        char why[128];
        snprintf(why, sizeof why, "writing to the engine failed: %s", strerror(errno));
        fail(s, why);
        return;
      } else if (s->stall_since == 0) {
        s->stall_since = vg_asr_now_ms();
      }
    }
    if (s->out_fd >= 0 && !read_stdout(s)) {
      child_gone(s);
      if (!s->failed && !s->ending) fail(s, "engine closed its output");
      return;
    }
    if (s->err_fd >= 0 && !read_stderr(s)) close_fd(&s->err_fd);
    if (s->failed) return;

    int64_t now = vg_asr_now_ms();
    if (s->pending_len && s->stall_since && now - s->stall_since >= VG_EXEC_STALL_MS) {
      fail(s, "engine is not reading its input (its stdin has been full for 5 s)");
      return;
    }
    if (now >= deadline || (until_drained && s->pending_len == 0)) return;

    struct pollfd p[3];
    nfds_t np = 0;
    if (s->pending_len && s->in_fd >= 0) p[np++] = (struct pollfd){s->in_fd, POLLOUT, 0};
    if (s->out_fd >= 0) p[np++] = (struct pollfd){s->out_fd, POLLIN, 0};
    if (s->err_fd >= 0) p[np++] = (struct pollfd){s->err_fd, POLLIN, 0};
    int64_t until = deadline;
    if (s->pending_len && s->stall_since && s->stall_since + VG_EXEC_STALL_MS < until)
      until = s->stall_since + VG_EXEC_STALL_MS;
    int t = (int)(until - now);
    if (np == 0) return;
    if (poll(p, np, t < 0 ? 0 : t) < 0 && errno != EINTR) return;
  }
}

/* Notices a child that exited while its pipes stay open (a grandchild
 * holding them). */
static void check_exit(exec_stream_t *s) {
  if (!s->pid || s->failed) return;
  int status;
  pid_t r = waitpid(s->pid, &status, WNOHANG);
  if (r != s->pid) return;
  kill(-s->pid, SIGKILL);
  s->pid = 0;
  /* Its last lines first, then the reason. */
  if (s->out_fd >= 0) (void)read_stdout(s);
  if (s->err_fd >= 0) (void)read_stderr(s);
  err_line_done(s);
  close_fd(&s->in_fd);
  close_fd(&s->out_fd);
  close_fd(&s->err_fd);
  report_exit(s, status);
}

/* ---- streams ---- */

static int exec_feed(void *st, const int16_t *pcm, size_t n) {
  exec_stream_t *s = st;
  if (s->failed) return VG_ECLOSED;
  if (!s->pid) {
    /* After end_utterance the next audio starts a new child. */
    char err[256];
    if (spawn_child(s, err, sizeof err) < 0) {
      fail(s, err);
      return VG_ECLOSED;
    }
  }
  while (n) {
    size_t room = (VG_EXEC_PENDING_BYTES - s->pending_len) / 2;
    if (room == 0) {
      /* Faster than the child reads: wait for it (bounded by the stall
       * limit). */
      pump(s, VG_EXEC_STALL_MS + 100, false);
      if (s->failed) return VG_ECLOSED;
      continue;
    }
    size_t k = n < room ? n : room;
    uint8_t *o = s->pending + s->pending_len;
    for (size_t i = 0; i < k; i++) { /* little-endian on the wire */
      uint16_t v = (uint16_t)pcm[i];
      o[2 * i] = (uint8_t)(v & 0xff);
      o[2 * i + 1] = (uint8_t)(v >> 8);
    }
    s->pending_len += 2 * k;
    s->fed += k;
    pcm += k;
    n -= k;
    pump(s, 0, false);
    if (s->failed) return VG_ECLOSED;
  }
  check_exit(s);
  return s->failed ? VG_ECLOSED : VG_OK;
}

static bool exec_poll(void *st, vg_asr_result_t *out) {
  exec_stream_t *s = st;
  if (!s->failed && s->pid) {
    pump(s, 0, false);
    check_exit(s);
  }
  return vg_asr_queue_pop(&s->q, out);
}

static int exec_end_utterance(void *st) {
  exec_stream_t *s = st;
  if (s->failed) return VG_ECLOSED;
  if (!s->pid) return VG_OK;
  pump(s, VG_EXEC_STALL_MS + 100, true);
  if (s->failed) return VG_ECLOSED;
  /* EOF tells the child the user stopped: it prints its last result and
   * exits. */
  s->ending = true;
  close_fd(&s->in_fd);
  s->pending_len = 0;
  int64_t deadline = vg_asr_now_ms() + VG_EXEC_END_WAIT_MS;
  while (s->pid && s->out_fd >= 0 && !s->failed) {
    int64_t left = deadline - vg_asr_now_ms();
    if (left <= 0) {
      VG_LOG(VG_LOG_WARN, s->sid, "asr exec: child did not exit %d ms after end of input",
             VG_EXEC_END_WAIT_MS);
      break;
    }
    pump(s, (int)left, false);
  }
  if (s->pid && !s->failed) {
    close_fd(&s->out_fd);
    close_fd(&s->err_fd);
    terminate(s);
  }
  return s->failed ? VG_ECLOSED : VG_OK;
}

static void exec_stream_destroy(void *st) {
  exec_stream_t *s = st;
  if (!s) return;
  close_fd(&s->in_fd);
  close_fd(&s->out_fd);
  close_fd(&s->err_fd);
  terminate(s);
  vg_asr_queue_clear(&s->q);
  free(s->pending);
  free(s->line);
  free(s);
}

static int exec_stream_create(void *impl, const char *sid, void **out, char *err,
                              size_t err_cap) {
  exec_stream_t *s = calloc(1, sizeof *s);
  if (!s) return VG_ENOMEM;
  s->eng = impl;
  s->in_fd = s->out_fd = s->err_fd = -1;
  snprintf(s->sid, sizeof s->sid, "%s", sid ? sid : "");
  int rc = VG_ENOMEM;
  s->pending = malloc(VG_EXEC_PENDING_BYTES);
  s->line = malloc(VG_EXEC_LINE_MAX);
  if (!s->pending || !s->line) goto fail;
  rc = spawn_child(s, err, err_cap);
  if (rc < 0) goto fail;
  *out = s;
  return VG_OK;
fail:
  exec_stream_destroy(s);
  return rc;
}

const vg_asr_ops_t vg_exec_ops = {
    .name = "exec",
    .engine_create = exec_engine_create,
    .engine_destroy = exec_engine_destroy,
    .stream_create = exec_stream_create,
    .feed = exec_feed,
    .poll = exec_poll,
    .end_utterance = exec_end_utterance,
    .stream_destroy = exec_stream_destroy,
};
