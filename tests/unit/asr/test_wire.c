/* The pure parts of the engines: result messages (exec lines, Vosk
 * messages), the WebSocket handshake response (RFC 6455 vectors), the
 * result queue's rules, and the word error rate. */
#include "asr/engine_internal.h"
#include "asr/wer.h"
#include "asr/wire.h"
#include "vgtest.h"

static vg_asr_queue_t q;

static int push(const char *msg, double base, double now) {
  const char *why = NULL;
  return vg_asr_wire_result(&q, msg, strlen(msg), base, now, &why);
}

/* An exec child's final with words, shifted by where the child began. */
static void test_exec_final(void) {
  vg_asr_queue_clear(&q);
  CHECK_EQ(push("{\"partial\": \"go for\"}", 10, 11), VG_OK);
  CHECK_EQ(push("{\"text\": \"go forward\", \"start\": 0.5, \"end\": 1.25, \"words\": ["
                "{\"word\": \"go\", \"start\": 0.5, \"end\": 0.75},"
                "{\"word\": \"forward\", \"start\": 0.75, \"end\": 1.25}]}",
                10, 11.5),
           VG_OK);
  vg_asr_result_t r;
  CHECK(vg_asr_queue_pop(&q, &r));
  CHECK_EQ(r.kind, VG_ASR_PARTIAL);
  CHECK_STR(r.text, "go for");
  CHECK(r.start == 0 && r.end == 11); /* no start given: unknown */
  CHECK(vg_asr_queue_pop(&q, &r));
  CHECK_EQ(r.kind, VG_ASR_FINAL);
  CHECK_STR(r.text, "go forward");
  CHECK(r.start == 10.5 && r.end == 11.25);
  CHECK_EQ(r.n_words, 2);
  CHECK_STR(r.words[1].word, "forward");
  CHECK(r.words[1].start == 10.75 && r.words[1].end == 11.25);
  CHECK(!vg_asr_queue_pop(&q, &r));
  vg_asr_queue_clear(&q);
}

/* Vosk's messages, as its README shows them: times from the words. */
static void test_vosk_messages(void) {
  vg_asr_queue_clear(&q);
  CHECK_EQ(push("{\"partial\" : \"\"}", 0, 1), VG_OK); /* empty: dropped */
  CHECK_EQ(push("{\"partial\" : \"hello\"}", 0, 1), VG_OK);
  CHECK_EQ(push("{\"partial\" : \"hello\"}", 0, 1.2), VG_OK); /* same: dropped */
  CHECK_EQ(push("{\"result\" : [ {\"word\": \"hello\", \"start\" : 3.45, \"end\" : 4.26, "
                "\"conf\" : 1}, {\"word\": \"world\", \"start\" : 4.26, \"end\" : 4.47, "
                "\"conf\" : 1} ], \"text\" : \"hello world\" }",
                2, 7),
           VG_OK);
  CHECK_EQ(push("{\"result\" : [  ], \"text\" : \"\" }", 2, 8), VG_OK); /* silence: dropped */
  vg_asr_result_t r;
  CHECK(vg_asr_queue_pop(&q, &r));
  CHECK_EQ(r.kind, VG_ASR_PARTIAL);
  CHECK_STR(r.text, "hello");
  CHECK(vg_asr_queue_pop(&q, &r));
  CHECK_EQ(r.kind, VG_ASR_FINAL);
  CHECK_STR(r.text, "hello world");
  CHECK(r.start == 5.45 && r.end == 6.47);
  CHECK_EQ(r.n_words, 2);
  CHECK(!vg_asr_queue_pop(&q, &r));

  /* max_alternatives: the first alternative. A final without words or
   * times runs from the last final's end to now. */
  CHECK_EQ(push("{\"partial\" : \"a\"}", 0, 9), VG_OK);
  CHECK_EQ(push("{\"alternatives\" : [{\"text\" : \"one\", \"confidence\" : 1}, "
                "{\"text\" : \"won\"}]}",
                0, 9.5),
           VG_OK);
  CHECK(vg_asr_queue_pop(&q, &r));
  CHECK(vg_asr_queue_pop(&q, &r));
  CHECK_EQ(r.kind, VG_ASR_FINAL);
  CHECK_STR(r.text, "one");
  CHECK(r.start == 6.47 && r.end == 9.5);
  CHECK_EQ(r.n_words, 0);
  CHECK(r.words == NULL);

  /* An empty final after a partial was shown clears it: kept. */
  CHECK_EQ(push("{\"partial\" : \"uh\"}", 0, 10), VG_OK);
  CHECK_EQ(push("{\"text\" : \"\"}", 0, 10.5), VG_OK);
  CHECK(vg_asr_queue_pop(&q, &r));
  CHECK(vg_asr_queue_pop(&q, &r));
  CHECK_EQ(r.kind, VG_ASR_FINAL);
  CHECK_STR(r.text, "");
  vg_asr_queue_clear(&q);
}

/* Unread partials collapse into the newest; an ERROR is given once and
 * nothing follows it. */
static void test_queue_rules(void) {
  vg_asr_queue_clear(&q);
  CHECK_EQ(push("{\"partial\": \"a\"}", 0, 1), VG_OK);
  CHECK_EQ(push("{\"partial\": \"a b\"}", 0, 2), VG_OK);
  CHECK_EQ(push("{\"partial\": \"a b c\"}", 0, 3), VG_OK);
  CHECK_EQ(push("{\"text\": \"a b c d\"}", 0, 4), VG_OK);
  CHECK_EQ(push("{\"unknown\": 1}", 0, 4), VG_OK); /* ignored */
  const char *why = NULL;
  CHECK_EQ(vg_asr_wire_result(&q, "not json", 8, 0, 4, &why), VG_EPROTO);
  CHECK_STR(why, "not a JSON object");
  CHECK_EQ(vg_asr_wire_result(&q, "[1,2]", 5, 0, 4, &why), VG_EPROTO);
  CHECK_EQ(push("{\"error\": \"no GPU available\"}", 0, 4), VG_ECLOSED);
  CHECK_EQ(push("{\"text\": \"after\"}", 0, 5), VG_OK); /* after the error: dropped */
  vg_asr_queue_error(&q, "second error");                /* dropped */
  vg_asr_result_t r;
  CHECK(vg_asr_queue_pop(&q, &r));
  CHECK_EQ(r.kind, VG_ASR_PARTIAL);
  CHECK_STR(r.text, "a b c");
  CHECK(r.end == 3);
  CHECK(vg_asr_queue_pop(&q, &r));
  CHECK_EQ(r.kind, VG_ASR_FINAL);
  CHECK(vg_asr_queue_pop(&q, &r));
  CHECK_EQ(r.kind, VG_ASR_ERROR);
  CHECK_STR(r.text, "engine error: no GPU available");
  CHECK(!vg_asr_queue_pop(&q, &r));
  vg_asr_queue_clear(&q);
}

/* RFC 6455 section 1.3: key "dGhlIHNhbXBsZSBub25jZQ==" is answered with
 * "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=". */
static void test_accept_vector(void) {
  char out[29];
  CHECK_EQ(vg_asr_wire_accept("dGhlIHNhbXBsZSBub25jZQ==", out), VG_OK);
  CHECK_STR(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

static const char rfc_accept[] = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

static int hs(const char *resp, size_t *consumed, unsigned *status, const char **why) {
  return vg_asr_wire_handshake((const uint8_t *)resp, strlen(resp), rfc_accept, consumed, status,
                               why);
}

/* The RFC's response (section 1.3), followed by a frame: incomplete at
 * every shorter length, accepted whole, the frame left over. */
static void test_handshake_response(void) {
  const char resp[] = "HTTP/1.1 101 Switching Protocols\r\n"
                      "Upgrade: websocket\r\n"
                      "Connection: Upgrade\r\n"
                      "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
                      "\r\n"
                      "\x81\x05hello";
  size_t head = strlen(resp) - 7, consumed = 0;
  unsigned status;
  const char *why;
  const uint8_t *in = (const uint8_t *)resp;
  for (size_t n = 0; n < head; n++) {
    int rc = vg_asr_wire_handshake(in, n, rfc_accept, &consumed, &status, &why);
    CHECK_EQ(rc, VG_EAGAIN);
  }
  int rc = vg_asr_wire_handshake(in, head, rfc_accept, &consumed, &status, &why);
  CHECK_EQ(rc, VG_OK);
  CHECK_EQ(consumed, head);
  CHECK_EQ(hs(resp, &consumed, &status, &why), VG_OK);
  CHECK_EQ(consumed, head);
  CHECK_EQ(status, 101);

  /* Header names without case, tokens in lists. */
  CHECK_EQ(hs("HTTP/1.1 101 OK\r\nupgrade: WebSocket\r\nconnection: keep-alive, Upgrade\r\n"
              "sec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n",
              &consumed, &status, &why),
           VG_OK);
}

/* True when `resp` is refused with `reason` (and `status` when not 0). */
static bool refused(const char *resp, const char *reason, unsigned want_status) {
  size_t consumed;
  unsigned status;
  const char *why = NULL;
  if (hs(resp, &consumed, &status, &why) != VG_EPROTO) return false;
  if (want_status && status != want_status) return false;
  return why && strcmp(why, reason) == 0;
}

#define SWITCHING "HTTP/1.1 101 Switching Protocols\r\n"
#define UPGRADE "Upgrade: websocket\r\nConnection: Upgrade\r\n"
#define GOOD_ACCEPT "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"

static void test_handshake_refusals(void) {
  CHECK(refused("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n",
                "the server did not switch to WebSocket", 404));
  CHECK(refused(SWITCHING UPGRADE "Sec-WebSocket-Accept: d3Jvbmcgd3Jvbmcgd3Jvbmc=\r\n\r\n",
                "wrong Sec-WebSocket-Accept", 101));
  CHECK(refused(SWITCHING UPGRADE "\r\n", "wrong Sec-WebSocket-Accept", 101));
  CHECK(refused(SWITCHING UPGRADE GOOD_ACCEPT GOOD_ACCEPT "\r\n", "wrong Sec-WebSocket-Accept",
                101));
  CHECK(refused(SWITCHING "Upgrade: h2c\r\nConnection: Upgrade\r\n" GOOD_ACCEPT "\r\n",
                "no Upgrade: websocket in the response", 101));
  CHECK(refused(SWITCHING "Upgrade: websocket\r\n" GOOD_ACCEPT "\r\n",
                "no Upgrade: websocket in the response", 101));
  CHECK(refused("SSH-2.0-OpenSSH_9.2\r\n", "bad HTTP response", 0));
}

/* Word error rate: substitutions, deletions and insertions over the
 * reference's words, after case and punctuation are set aside. */
static void test_wer(void) {
  CHECK(vg_asr_wer("go forward ten meters", "go forward ten meters") == 0);
  CHECK(vg_asr_wer("Go forward, ten meters!", "go forward ten meters") == 0);
  CHECK(vg_asr_wer("go forward ten meters", "go forward ten years") == 0.25);  /* 1 sub */
  CHECK(vg_asr_wer("go forward ten meters", "go forward meters") == 0.25);     /* 1 del */
  CHECK(vg_asr_wer("go forward ten meters", "so go forward ten meters") == 0.25); /* 1 ins */
  CHECK(vg_asr_wer("a b", "c d e f") == 2.0);
  CHECK(vg_asr_wer("it's here", "it s here") > 0); /* the apostrophe stays in words */
  size_t e, n;
  CHECK(vg_asr_wer_counts("she sells sea shells", "she sells seashells", &e, &n) == 0.5);
  CHECK_EQ(e, 2);
  CHECK_EQ(n, 4);
  CHECK(vg_asr_wer("", "") == 0);
  CHECK(vg_asr_wer("", "extra") == 1);
  CHECK(vg_asr_wer("...", "") == 0);
}

VGT_MAIN(VGT_CASE(test_exec_final), VGT_CASE(test_vosk_messages), VGT_CASE(test_queue_rules),
         VGT_CASE(test_accept_vector), VGT_CASE(test_handshake_response),
         VGT_CASE(test_handshake_refusals), VGT_CASE(test_wer))
