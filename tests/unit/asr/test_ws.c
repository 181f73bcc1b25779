/* The websocket engine against a fake Vosk server (tests/data/asr/
 * fake_vosk.py, Debian's python3-websockets on 127.0.0.1): the config
 * message and the audio arrive, partials and results with words are
 * parsed, eof ends the connection; a server that closes or drops the
 * connection gives that stream one ERROR; handshake failures and timeouts
 * are reported at stream create. */
#include <netinet/in.h>
#include <sys/socket.h>

#include "asr/asr_test_util.h"
#include "asr/engine.h"
#include "vgtest.h"

#define FAKE_VOSK VG_TEST_DATA_DIR "/asr/fake_vosk.py"

typedef struct {
  pid_t pid;
  int port;
} server_t;

/* Starts the fake server in `mode` and reads the port it prints. */
static bool server_start(server_t *sv, const char *mode) {
  int out[2];
  if (pipe(out) < 0) return false;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  posix_spawn_file_actions_addclose(&fa, out[0]);
  char *argv[] = {"python3", FAKE_VOSK, (char *)mode, NULL};
  int e = posix_spawn(&sv->pid, "/usr/bin/python3", &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  close(out[1]);
  if (e != 0) {
    close(out[0]);
    return false;
  }
  char line[32] = {0};
  size_t n = 0;
  struct pollfd p = {out[0], POLLIN, 0};
  while (n < sizeof line - 1 && !memchr(line, '\n', n) && poll(&p, 1, 10000) > 0) {
    ssize_t k = read(out[0], line + n, sizeof line - 1 - n);
    if (k <= 0) break;
    n += (size_t)k;
  }
  close(out[0]);
  sv->port = atoi(line);
  if (sv->port <= 0) fprintf(stderr, "  fake server did not start (python3-websockets?)\n");
  return sv->port > 0;
}

static void server_stop(server_t *sv) {
  if (sv->pid <= 0) return;
  kill(sv->pid, SIGTERM);
  waitpid(sv->pid, NULL, 0);
  sv->pid = 0;
}

static vg_asr_engine_t *ws_engine(const server_t *sv) {
  char spec[128];
  snprintf(spec, sizeof spec, "ws://127.0.0.1:%d/asr", sv->port);
  return test_engine(spec);
}

/* Partials while the tone lasts, a result per burst with its word and
 * times in stream time; eof closes normally; more audio reconnects and its
 * times continue the stream clock. */
static void test_partial_final(void) {
  server_t sv = {0};
  CHECK(server_start(&sv, "normal"));
  vg_asr_engine_t *e = ws_engine(&sv);
  CHECK(e != NULL);
  CHECK_STR(vg_asr_engine_name(e), "websocket");
  audio_t a = {0};
  CHECK(tone_bursts(&a));
  char err[256];
  vg_asr_stream_t *s;
  CHECK_EQ(vg_asr_stream_create(e, "ws1", &s, err, sizeof err), VG_OK);
  collected_t c = {0};
  CHECK_EQ(run_stream(s, &a, CHUNK_20MS, true, &c), 0);
  printf("  finals: \"%s\" %.2f-%.2f, \"%s\" %.2f-%.2f; %zu partials\n", c.final_text[0],
         c.final_start[0], c.final_end[0], c.final_text[1], c.final_start[1], c.final_end[1],
         c.partials);
  CHECK_EQ(c.errors, 0);
  CHECK_EQ(c.finals, 2);
  CHECK_STR(c.final_text[0], "tone");
  CHECK_STR(c.final_text[1], "tone");
  CHECK_EQ(c.final_words[0], 1);
  CHECK(c.words_ok);
  CHECK(c.partials_before_first_final >= 1);
  CHECK(absd(c.final_start[0] - 0.5) < 0.03 && absd(c.final_end[0] - 1.7) < 0.03);
  CHECK(absd(c.final_start[1] - 2.5) < 0.03 && absd(c.final_end[1] - 3.5) < 0.03);

  /* After eof: a new connection; stream time goes on from 4.3 s. */
  collected_t c2 = {0};
  CHECK_EQ(run_stream(s, &a, CHUNK_20MS, true, &c2), 0);
  CHECK_EQ(c2.errors, 0);
  CHECK_EQ(c2.finals, 2);
  CHECK(absd(c2.final_start[0] - (4.3 + 0.5)) < 0.03);
  vg_asr_stream_destroy(s);
  vg_asr_engine_destroy(e);
  server_stop(&sv);
  audio_free(&a);
}

/* What the server received: the config (16 kHz, words on) and every byte
 * of audio, in 200 ms messages. Ending mid-speech gives the last result
 * after eof. */
static void test_delivery(void) {
  server_t sv = {0};
  CHECK(server_start(&sv, "stats"));
  vg_asr_engine_t *e = ws_engine(&sv);
  CHECK(e != NULL);
  audio_t a = {0};
  unsigned seed = 2;
  CHECK(audio_noise(&a, 1.5, &seed)); /* 24000 samples */
  char err[256];
  vg_asr_stream_t *s;
  CHECK_EQ(vg_asr_stream_create(e, "ws2", &s, err, sizeof err), VG_OK);
  collected_t c = {0};
  CHECK_EQ(run_stream(s, &a, 100, true, &c), 0);
  printf("  server: %s\n", c.final_text[0]);
  CHECK_EQ(c.finals, 1);
  CHECK_STR(c.final_text[0], "received 48000 bytes in 8 messages at 16000 Hz words 1");
  vg_asr_stream_destroy(s);
  vg_asr_engine_destroy(e);
  server_stop(&sv);
  audio_free(&a);

  /* eof mid-speech: the server's final result comes back. */
  CHECK(server_start(&sv, "normal"));
  e = ws_engine(&sv);
  CHECK(e != NULL);
  audio_t b = {0};
  CHECK(audio_noise(&b, 0.3, &seed) && audio_tone(&b, 0.6, 200, 6000));
  CHECK_EQ(vg_asr_stream_create(e, "ws3", &s, err, sizeof err), VG_OK);
  collected_t d = {0};
  CHECK_EQ(run_stream(s, &b, CHUNK_20MS, true, &d), 0);
  CHECK_EQ(d.errors, 0);
  CHECK_EQ(d.finals, 1);
  CHECK(absd(d.final_start[0] - 0.3) < 0.03 && absd(d.final_end[0] - 0.9) < 0.03);
  vg_asr_stream_destroy(s);
  vg_asr_engine_destroy(e);
  server_stop(&sv);
  audio_free(&b);
}

/* A failing server's stream gives one ERROR with `reason`; a stream on a
 * healthy server at the same time is untouched. */
static void fail_beside_healthy(const char *mode, const char *reason) {
  server_t bad = {0}, good = {0};
  CHECK(server_start(&bad, mode));
  CHECK(server_start(&good, "normal"));
  vg_asr_engine_t *eb = ws_engine(&bad), *eg = ws_engine(&good);
  CHECK(eb != NULL && eg != NULL);
  audio_t a = {0};
  CHECK(tone_bursts(&a));
  char err[256];
  vg_asr_stream_t *sb, *sg;
  CHECK_EQ(vg_asr_stream_create(eb, "bad", &sb, err, sizeof err), VG_OK);
  CHECK_EQ(vg_asr_stream_create(eg, "good", &sg, err, sizeof err), VG_OK);
  collected_t cb = {0}, cg = {0};
  int rc = 0;
  for (size_t i = 0; i < a.n; i += CHUNK_20MS) {
    size_t k = a.n - i < CHUNK_20MS ? a.n - i : CHUNK_20MS;
    CHECK_EQ(vg_asr_stream_feed(sg, a.pcm + i, k), VG_OK);
    collect(sg, &cg);
    if (rc == 0) rc = vg_asr_stream_feed(sb, a.pcm + i, k);
    collect(sb, &cb);
    /* Paced a little, so the close arrives while audio still flows. */
    if (i % (CHUNK_20MS * 10) == 0) {
      struct timespec ts = {0, 20 * 1000 * 1000};
      nanosleep(&ts, NULL);
    }
  }
  printf("  error: %s\n", cb.error);
  CHECK(rc < 0);
  CHECK_EQ(cb.errors, 1);
  CHECK(strstr(cb.error, reason) != NULL);
  CHECK(vg_asr_stream_feed(sb, a.pcm, CHUNK_20MS) < 0);
  CHECK(vg_asr_stream_end_utterance(sb) < 0);
  collect(sb, &cb);
  CHECK_EQ(cb.errors, 1);
  CHECK_EQ(vg_asr_stream_end_utterance(sg), VG_OK);
  collect(sg, &cg);
  CHECK_EQ(cg.errors, 0);
  CHECK_EQ(cg.finals, 2);
  vg_asr_stream_destroy(sb);
  vg_asr_stream_destroy(sg);
  vg_asr_engine_destroy(eb);
  vg_asr_engine_destroy(eg);
  server_stop(&bad);
  server_stop(&good);
  audio_free(&a);
}

static void test_server_closes(void) {
  fail_beside_healthy("close", "server closed the connection (1011 recognizer crashed)");
}

static void test_server_drops(void) {
  fail_beside_healthy("drop", "server closed the connection without a close frame");
}

/* Failures at stream create, each with its reason. */
static void expect_create_error(const char *mode, const char *reason, double max_s) {
  server_t sv = {0};
  CHECK(server_start(&sv, mode));
  vg_asr_engine_t *e = ws_engine(&sv);
  CHECK(e != NULL);
  char err[256];
  vg_asr_stream_t *s = NULL;
  double t0 = now_s();
  CHECK(vg_asr_stream_create(e, "hs", &s, err, sizeof err) < 0);
  double took = now_s() - t0;
  printf("  %s: %s (%.1f s)\n", mode, err, took);
  CHECK(s == NULL);
  CHECK(strstr(err, reason) != NULL);
  CHECK(took < max_s);
  vg_asr_engine_destroy(e);
  server_stop(&sv);
}

static void test_bad_accept(void) {
  expect_create_error("badaccept", "wrong Sec-WebSocket-Accept", 2);
}

static void test_http_error(void) {
  expect_create_error("http404", "the server answered HTTP 404", 2);
}

static void test_handshake_timeout(void) {
  expect_create_error("silent", "timed out", 7);
}

static void test_refused(void) {
  /* A port nobody listens on: bind one, note it, close it. */
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  CHECK(fd >= 0);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t sl = sizeof sa;
  CHECK_EQ(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
  CHECK_EQ(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
  close(fd);
  server_t sv = {.port = ntohs(sa.sin_port)};
  vg_asr_engine_t *e = ws_engine(&sv);
  CHECK(e != NULL);
  char err[256];
  vg_asr_stream_t *s = NULL;
  CHECK_EQ(vg_asr_stream_create(e, "refused", &s, err, sizeof err), VG_ECLOSED);
  printf("  %s\n", err);
  CHECK(strstr(err, "Connection refused") != NULL);
  vg_asr_engine_destroy(e);
}

static void test_bad_urls(void) {
  const char *bad[] = {"ws://", "ws://:80/x", "ws://host:/x", "ws://host:0/x",
                       "ws://host:99999/x", "ws://host:8a/x", "ws://[::1/x", "ws://h:1/a b"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    vg_asr_engine_t *e = NULL;
    char err[256];
    CHECK_EQ(vg_asr_engine_create(bad[i], NULL, &e, err, sizeof err), VG_EINVAL);
    CHECK(strstr(err, "ws://HOST:PORT/PATH") != NULL);
    CHECK(e == NULL);
  }
  const char *good[] = {"ws://localhost:2700", "ws://[::1]:2700/asr", "ws://10.0.0.1/x"};
  for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
    vg_asr_engine_t *e = NULL;
    char err[256];
    CHECK_EQ(vg_asr_engine_create(good[i], NULL, &e, err, sizeof err), VG_OK);
    vg_asr_engine_destroy(e);
  }
}

VGT_MAIN(VGT_CASE(test_partial_final), VGT_CASE(test_delivery), VGT_CASE(test_server_closes),
         VGT_CASE(test_server_drops), VGT_CASE(test_bad_accept), VGT_CASE(test_http_error),
         VGT_CASE(test_handshake_timeout), VGT_CASE(test_refused), VGT_CASE(test_bad_urls))
