/* Logging: one macro with a level and a session id prefix.
 *
 *   VG_LOG(VG_LOG_WARN, sid, "dtls failed: %s", why);
 *
 * `sid` is a short session id string or NULL. Arguments are not evaluated
 * when the level is disabled, so expensive formatting costs nothing then.
 * The sink defaults to stderr; the application may replace it. */
#ifndef VG_BASE_LOG_H
#define VG_BASE_LOG_H

#include <stdbool.h>

typedef enum {
  VG_LOG_ERROR = 0,
  VG_LOG_WARN = 1,
  VG_LOG_INFO = 2,
  VG_LOG_DEBUG = 3,
  VG_LOG_TRACE = 4,
} vg_log_level_t;

/* Receives one formatted line without a trailing newline. */
typedef void (*vg_log_sink_fn)(void *ud, vg_log_level_t level, const char *line);

void vg_log_set_level(vg_log_level_t level);
vg_log_level_t vg_log_get_level(void);
bool vg_log_enabled(vg_log_level_t level);
/* Parses "error", "warn", "info", "debug", "trace"; -1 when unknown. */
int vg_log_level_parse(const char *name);
/* `sink` NULL restores the stderr sink. */
void vg_log_set_sink(vg_log_sink_fn sink, void *ud);

void vg_log_write(vg_log_level_t level, const char *sid, const char *file, int line,
                  const char *fmt, ...) __attribute__((format(printf, 5, 6)));

#define VG_LOG(level, sid, ...)                                                \
  do {                                                                         \
    if (vg_log_enabled(level))                                                 \
      vg_log_write((level), (sid), __FILE__, __LINE__, __VA_ARGS__);           \
  } while (0)

#endif
