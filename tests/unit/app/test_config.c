#include <string.h>

#include "app/config.h"
#include "base/log.h"
#include "vgtest.h"

static const char *fake_env(const char *name) {
  if (strcmp(name, "VOXGATE_PORT") == 0) return "9000";
  if (strcmp(name, "VOXGATE_PUBLIC_IP") == 0) return "203.0.113.10, 2001:db8::1";
  if (strcmp(name, "VOXGATE_LOG_LEVEL") == 0) return "debug";
  if (strcmp(name, "VOXGATE_WS_FALLBACK_MS") == 0) return "3500";
  return NULL;
}

static const char *bad_env(const char *name) {
  return strcmp(name, "VOXGATE_PORT") == 0 ? "80" : NULL;
}

static void test_defaults_env_then_flags(void) {
  vg_config_t c;
  char err[200];
  vg_config_defaults(&c);
  CHECK_EQ(c.port, 8080);
  CHECK_EQ(c.max_sessions, 100);
  CHECK_EQ(c.ws_fallback_ms, 2000);
  CHECK_EQ(vg_config_from_env(&c, fake_env, err, sizeof err), VG_OK);
  CHECK_EQ(c.port, 9000);
  CHECK_EQ(c.n_public_ips, 2);
  CHECK_EQ(c.public_ips[1].family, 6);
  CHECK_EQ(c.log_level, VG_LOG_DEBUG);
  CHECK_EQ(c.ws_fallback_ms, 3500);
  char *argv[] = {"voxgate", "--port", "9100", "--token=abc", "--max-sessions", "3",
                  "--bind", "127.0.0.1", "--ws-fallback-ms", "0", NULL};
  CHECK_EQ(vg_config_from_args(&c, 10, argv, err, sizeof err), VG_OK);
  CHECK_EQ(c.ws_fallback_ms, 0); /* 0: the page goes to the WebSocket at once */
  CHECK_EQ(c.port, 9100); /* the flag wins over the environment */
  CHECK_STR(c.token, "abc");
  CHECK_EQ(c.max_sessions, 3);
  CHECK(c.has_bind && c.bind.family == 4);
}

static void test_bad_values_say_why(void) {
  vg_config_t c;
  char err[200];
  vg_config_defaults(&c);
  CHECK_EQ(vg_config_from_env(&c, bad_env, err, sizeof err), VG_EINVAL);
  CHECK(strstr(err, "VOXGATE_PORT") && strstr(err, "1024"));
  char *a1[] = {"voxgate", "--port", "70000"};
  CHECK_EQ(vg_config_from_args(&c, 3, a1, err, sizeof err), VG_EINVAL);
  char *a2[] = {"voxgate", "--public-ip", "example.com"};
  CHECK_EQ(vg_config_from_args(&c, 3, a2, err, sizeof err), VG_EINVAL);
  CHECK(strstr(err, "literal") != NULL);
  char *a3[] = {"voxgate", "--frobnicate", "1"};
  CHECK_EQ(vg_config_from_args(&c, 3, a3, err, sizeof err), VG_EINVAL);
  CHECK(strstr(err, "--frobnicate") != NULL);
  char *a4[] = {"voxgate", "--token"};
  CHECK_EQ(vg_config_from_args(&c, 2, a4, err, sizeof err), VG_EINVAL);
  CHECK(strstr(err, "needs a value") != NULL);
  char *a5[] = {"voxgate", "--max-sessions", "0"};
  CHECK_EQ(vg_config_from_args(&c, 3, a5, err, sizeof err), VG_EINVAL);
  char *a6[] = {"voxgate", "--log-level", "loud"};
  CHECK_EQ(vg_config_from_args(&c, 3, a6, err, sizeof err), VG_EINVAL);
  char *a8[] = {"voxgate", "--ws-fallback-ms", "soon"};
  CHECK_EQ(vg_config_from_args(&c, 3, a8, err, sizeof err), VG_EINVAL);
  CHECK(strstr(err, "--ws-fallback-ms") != NULL);
  CHECK(strstr(vg_config_usage(), "--ws-fallback-ms") && strstr(vg_config_usage(), "VOXGATE_WS_FALLBACK_MS"));
  char *a7[] = {"voxgate", "--help"};
  CHECK_EQ(vg_config_from_args(&c, 2, a7, err, sizeof err), VG_OK);
  CHECK(c.help);
  CHECK(strstr(vg_config_usage(), "8080/udp") != NULL);
}

VGT_MAIN(VGT_CASE(test_defaults_env_then_flags), VGT_CASE(test_bad_values_say_why))
