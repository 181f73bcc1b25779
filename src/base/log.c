#include "base/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Process-wide logging settings, written at start-up by the application.
 * (The no-mutable-globals rule is for core/sig/media; this is base.) */
static vg_log_level_t threshold = VG_LOG_INFO;
static vg_log_sink_fn sink_fn;
static void *sink_ud;

static const char *const level_names[] = {"error", "warn", "info", "debug", "trace"};

void vg_log_set_level(vg_log_level_t level) { threshold = level; }
vg_log_level_t vg_log_get_level(void) { return threshold; }
bool vg_log_enabled(vg_log_level_t level) { return level <= threshold; }

int vg_log_level_parse(const char *name) {
  for (int i = 0; i < (int)(sizeof level_names / sizeof level_names[0]); i++)
    if (strcmp(name, level_names[i]) == 0) return i;
  return -1;
}

void vg_log_set_sink(vg_log_sink_fn sink, void *ud) {
  sink_fn = sink;
  sink_ud = ud;
}

void vg_log_write(vg_log_level_t level, const char *sid, const char *file, int line,
                  const char *fmt, ...) {
  char msg[1024];
  int n = snprintf(msg, sizeof msg, "%-5s %s%s", level_names[level], sid ? sid : "",
                   sid ? " " : "");
  if (n < 0) return;
  if ((size_t)n < sizeof msg) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg + n, sizeof msg - (size_t)n, fmt, ap);
    va_end(ap);
  }
  if (level >= VG_LOG_DEBUG) {
    size_t len = strlen(msg);
    const char *base = strrchr(file, '/');
    snprintf(msg + len, sizeof msg - len, " (%s:%d)", base ? base + 1 : file, line);
  }
  if (sink_fn) {
    sink_fn(sink_ud, level, msg);
  } else {
    fprintf(stderr, "%s\n", msg);
  }
}
