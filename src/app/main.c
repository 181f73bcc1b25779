/* voxgate: parse the configuration, start the server, run until SIGINT or
 * SIGTERM, shut down cleanly (every session sent its BYE), exit 0. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <uv.h>

#include "app/config.h"
#include "app/server.h"
#include "base/log.h"

typedef struct {
  vg_server_t *srv;
  uv_signal_t sigint, sigterm;
  int signals;
} app_t;

static void on_signal(uv_signal_t *h, int signum) {
  app_t *app = h->data;
  if (app->signals++ > 0) {
    fprintf(stderr, "voxgate: second signal, exiting now\n");
    exit(1);
  }
  VG_LOG(VG_LOG_INFO, NULL, "signal %d: shutting down (%zu sessions)", signum,
         vg_server_session_count(app->srv));
  vg_server_shutdown(app->srv);
  uv_close((uv_handle_t *)&app->sigint, NULL);
  uv_close((uv_handle_t *)&app->sigterm, NULL);
}

static const char *env(const char *name) { return getenv(name); }

int main(int argc, char **argv) {
  vg_config_t cfg;
  char err[300];
  vg_config_defaults(&cfg);
  if (vg_config_from_env(&cfg, env, err, sizeof err) < 0 ||
      vg_config_from_args(&cfg, argc, argv, err, sizeof err) < 0) {
    fprintf(stderr, "voxgate: %s\n", err);
    return 2;
  }
  if (cfg.help) {
    fputs(vg_config_usage(), stdout);
    return 0;
  }
  vg_log_set_level((vg_log_level_t)cfg.log_level);
  signal(SIGPIPE, SIG_IGN);
  uv_loop_t *loop = uv_default_loop();
  app_t app = {0};
  if (vg_server_create(loop, &cfg, &app.srv, err, sizeof err) < 0) {
    fprintf(stderr, "voxgate: %s\n", err);
    return 1;
  }
  uv_signal_init(loop, &app.sigint);
  uv_signal_init(loop, &app.sigterm);
  app.sigint.data = app.sigterm.data = &app;
  uv_signal_start(&app.sigint, on_signal, SIGINT);
  uv_signal_start(&app.sigterm, on_signal, SIGTERM);

  char urls[2048];
  printf("voxgate: listening on %u/tcp and %u/udp\n", cfg.port, cfg.port);
  if (vg_server_urls(app.srv, urls, sizeof urls) > 0) {
    for (char *line = urls, *nl; *line; line = nl + 1) {
      nl = strchr(line, '\n');
      if (!nl) break;
      *nl = '\0';
      printf("voxgate: open %s\n", line);
    }
  }
  printf("voxgate: https on the same port; certificate SHA-256 %s%s\n",
         vg_server_tls_fingerprint(app.srv),
         cfg.tls_cert[0] ? "" : " (self-signed: compare it with the browser's warning)");
  printf("voxgate: from another machine, either open the https URL, or tunnel:\n"
         "voxgate:   ssh -L %u:localhost:%u THIS_HOST, then open http://localhost:%u/\n",
         cfg.port, cfg.port, cfg.port);
  fflush(stdout);

  uv_run(loop, UV_RUN_DEFAULT);
  vg_server_destroy(app.srv);
  int r = uv_loop_close(loop);
  if (r != 0) VG_LOG(VG_LOG_WARN, NULL, "event loop closed with handles open");
  VG_LOG(VG_LOG_INFO, NULL, "stopped");
  return 0;
}
