/* SDP offer/answer for a WebRTC audio server.
 *
 *   RFC 8866  SDP: the line format                 RFC 8829  JSEP offer/answer
 *   RFC 8843  BUNDLE (a=group:BUNDLE, a=mid)       RFC 8839  ICE attributes
 *   RFC 8840  trickle ICE sdpfrag bodies           RFC 5763  a=fingerprint, a=setup
 *   RFC 7587  Opus (opus/48000/2, fmtp)            RFC 8285  a=extmap
 *
 * What it does:
 *   - vg_sdp_parse() reads a browser's offer (or our server's answer) into a
 *     caller-allocated vg_sdp_t: fixed arrays, strings copied into bounded
 *     fields, no allocation. The result does not point into the input.
 *   - vg_sdp_parse_frag() reads a trickle-ICE sdpfrag (RFC 8840; the body of
 *     a WHIP PATCH) into the same structure with the same line parser.
 *   - vg_sdp_build_answer() answers an offer as an ICE-lite audio server:
 *     the first audio section that offers Opus over DTLS-SRTP is accepted,
 *     every other section is answered with port 0 (rejected).
 *   - vg_sdp_build_offer() writes the offer of a controlling client (tests,
 *     load generator): one audio section, Opus 111.
 *
 * The parser is strict about what it understands and lenient about what it
 * does not: unknown attributes and unknown media kinds never fail a parse;
 * a malformed known line (bad fingerprint, bad candidate, over-long value)
 * does, with a one-line reason naming the line, e.g.
 * "line 7: m= line needs at least 4 fields".
 *
 * Sizes: vg_sdp_t is large (see VG_SDP_* limits; about 180 KB). It is used
 * at signaling time only: allocate it on the heap or per worker, not on a
 * small thread stack, and keep only what you need (vg_sdp_answer_info_t)
 * for the life of a peer. */
#ifndef VG_CORE_SDP_H
#define VG_CORE_SDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/addr.h"
#include "base/err.h"

/* ---- Limits ----------------------------------------------------------- */

/* m= sections per description. A browser offer for audio + video + a data
 * channel has 3; more than this is an error ("too many m= sections"). */
#define VG_SDP_MAX_MEDIA 16
/* Numeric formats (RTP payload types) kept per m= line; a browser's video
 * line lists ~30. Excess ones are counted in n_formats_skipped. */
#define VG_SDP_MAX_FORMATS 64
/* a=rtpmap/a=fmtp entries kept per section; excess are counted, not an
 * error (Opus is in the first handful of any audio section). */
#define VG_SDP_MAX_CODECS 32
/* a=extmap entries kept per section. RFC 8285 ids are 1-14 (one-byte
 * form) or 1-255 (two-byte form); browsers offer ~15. Excess are counted. */
#define VG_SDP_MAX_EXTMAPS 16
/* a=candidate lines kept per section; excess (and those with a transport
 * we cannot use) are counted in n_candidates_skipped, not an error. */
#define VG_SDP_MAX_CANDIDATES 16

/* String fields hold at most LEN-1 characters plus the terminator. A longer
 * value is an error naming the line. */
#define VG_SDP_MID_LEN 33         /* RFC 8843 mid token; browsers use "0" */
#define VG_SDP_TOKEN_LEN 33       /* media kind, proto, first format */
#define VG_SDP_UFRAG_LEN 257      /* RFC 8839 5.4: ice-ufrag 4..256 ice-chars */
#define VG_SDP_PWD_LEN 257        /* RFC 8839 5.4: ice-pwd 22..256 ice-chars */
#define VG_SDP_ICE_OPTIONS_LEN 65 /* "trickle ice2 renomination" */
#define VG_SDP_FP_ALG_LEN 8       /* RFC 8122 hash names: "sha-256", "sha-512" */
#define VG_SDP_FP_MAX_BYTES 64    /* sha-512 */
#define VG_SDP_FP_LEN (VG_SDP_FP_MAX_BYTES * 3) /* "AB:CD:..." 64 bytes */
#define VG_SDP_ENCODING_LEN 24    /* "telephone-event", "opus" */
#define VG_SDP_FMTP_LEN 129       /* longest browser fmtp is ~70 (H264) */
#define VG_SDP_URI_LEN 129        /* extmap URIs: longest browser one is 87 */
#define VG_SDP_FOUNDATION_LEN 33  /* RFC 8445 5.1.1.3: 1..32 ice-chars */
#define VG_SDP_HOST_LEN 64        /* mDNS name: UUID + ".local" = 42 */
#define VG_SDP_CNAME_LEN 65       /* RFC 7022 cnames are 16-24 chars */
#define VG_SDP_MSID_LEN 129       /* "<stream id> <track id>", two UUIDs */
#define VG_SDP_WHY_LEN 128        /* an error reason naming the line */

/* ---- Parsed values ---------------------------------------------------- */

typedef enum {
  VG_SDP_KIND_OTHER = 0, /* text, message, ...: kept, answered with port 0 */
  VG_SDP_KIND_AUDIO,
  VG_SDP_KIND_VIDEO,
  VG_SDP_KIND_APPLICATION,
} vg_sdp_kind_t;

/* RFC 8866 6.7: sendrecv is the default when no direction is given. */
typedef enum {
  VG_SDP_DIR_SENDRECV = 0,
  VG_SDP_DIR_SENDONLY,
  VG_SDP_DIR_RECVONLY,
  VG_SDP_DIR_INACTIVE,
} vg_sdp_direction_t;

/* RFC 4145 4 / RFC 5763 5: who starts DTLS. NONE = absent (or, in answer
 * params, "choose for me"). */
typedef enum {
  VG_SDP_SETUP_NONE = 0,
  VG_SDP_SETUP_ACTPASS,
  VG_SDP_SETUP_ACTIVE,
  VG_SDP_SETUP_PASSIVE,
  VG_SDP_SETUP_HOLDCONN,
} vg_sdp_setup_t;

typedef enum {
  VG_SDP_CAND_HOST = 0,
  VG_SDP_CAND_SRFLX,
  VG_SDP_CAND_PRFLX,
  VG_SDP_CAND_RELAY,
} vg_sdp_cand_type_t;

/* RFC 6544 4.5: ICE-TCP candidate roles. NONE for UDP candidates. */
typedef enum {
  VG_SDP_TCPTYPE_NONE = 0,
  VG_SDP_TCPTYPE_ACTIVE,
  VG_SDP_TCPTYPE_PASSIVE,
  VG_SDP_TCPTYPE_SO,
} vg_sdp_tcptype_t;

/* RFC 5763 5 / RFC 8122: a=fingerprint:<hash-func> <AB:CD:...>. */
typedef struct {
  char alg[VG_SDP_FP_ALG_LEN];     /* lower case: "sha-256"; "" = none */
  char value[VG_SDP_FP_LEN];       /* as written, upper-cased hex */
  uint8_t bytes[VG_SDP_FP_MAX_BYTES]; /* the decoded digest */
  uint8_t len;                     /* digest length; matches alg */
} vg_sdp_fingerprint_t;

/* RFC 8839 5.1: a=candidate:<foundation> <component> <transport> <priority>
 *   <address> <port> typ <type> [raddr <a>] [rport <p>] [tcptype <t>] ... */
typedef struct {
  char foundation[VG_SDP_FOUNDATION_LEN];
  uint16_t component;      /* 1 = RTP (or muxed), 2 = RTCP */
  uint32_t priority;
  /* Literal IP (unless is_hostname), port and transport (UDP/TCP). When
   * is_hostname, only port and transport are set (family 0). */
  vg_addr_t addr;
  bool is_hostname;        /* the address is a name, copied into hostname */
  bool is_mdns;            /* ... and it ends in ".local" (RFC 8839 + mDNS ICE) */
  char hostname[VG_SDP_HOST_LEN];
  vg_sdp_cand_type_t type;
  bool has_raddr;          /* raddr/rport present and raddr a literal IP */
  vg_addr_t raddr;
  vg_sdp_tcptype_t tcptype;
} vg_sdp_candidate_t;

/* a=rtpmap:<pt> <encoding>/<clock>[/<channels>] and a=fmtp:<pt> <params>,
 * merged per payload type. */
typedef struct {
  uint8_t pt;              /* 0..127 */
  bool has_rtpmap;         /* false for an fmtp without rtpmap (static pt) */
  char encoding[VG_SDP_ENCODING_LEN]; /* as written: "opus", "VP8" */
  uint32_t clock;          /* Hz */
  uint8_t channels;        /* 1 when not given */
  bool has_fmtp;
  char fmtp[VG_SDP_FMTP_LEN]; /* "minptime=10;useinbandfec=1" */
} vg_sdp_codec_t;

/* RFC 8285 5: a=extmap:<id>[/<direction>] <uri> [<attributes>]. */
typedef struct {
  uint16_t id;             /* 1..255 (RFC 8285 two-byte form) */
  char uri[VG_SDP_URI_LEN];
} vg_sdp_extmap_t;

/* One m= section. ice_*, fingerprint and setup hold the effective values:
 * the section's own line if it has one, else the session-level one. */
typedef struct {
  vg_sdp_kind_t kind;
  char media[VG_SDP_TOKEN_LEN];     /* the m= kind as written: "audio" */
  uint16_t port;                    /* 0 = rejected / bundle-only */
  char proto[VG_SDP_TOKEN_LEN];     /* "UDP/TLS/RTP/SAVPF" */
  char first_format[VG_SDP_TOKEN_LEN]; /* first fmt token: "111", "webrtc-datachannel" */
  uint8_t formats[VG_SDP_MAX_FORMATS]; /* numeric fmts 0..127, in order */
  size_t n_formats;
  size_t n_formats_skipped;

  char mid[VG_SDP_MID_LEN];         /* "" when there is no a=mid */
  bool rtcp_mux;
  bool bundle_only;                 /* RFC 8843 6: a=bundle-only */
  vg_sdp_direction_t direction;

  vg_sdp_codec_t codecs[VG_SDP_MAX_CODECS];
  size_t n_codecs;
  size_t n_codecs_skipped;
  vg_sdp_extmap_t extmaps[VG_SDP_MAX_EXTMAPS];
  size_t n_extmaps;
  size_t n_extmaps_skipped;

  char ice_ufrag[VG_SDP_UFRAG_LEN]; /* "" = none (effective value) */
  char ice_pwd[VG_SDP_PWD_LEN];
  vg_sdp_fingerprint_t fingerprint; /* alg "" = none (effective value) */
  vg_sdp_setup_t setup;             /* effective value */

  vg_sdp_candidate_t candidates[VG_SDP_MAX_CANDIDATES];
  size_t n_candidates;
  size_t n_candidates_skipped;      /* over the limit or unusable transport */
  bool end_of_candidates;

  bool has_ssrc;                    /* first a=ssrc line */
  uint32_t ssrc;
  char cname[VG_SDP_CNAME_LEN];     /* that SSRC's cname, "" if none */
  char msid[VG_SDP_MSID_LEN];       /* a=msid value, "" if none */

  bool has_conn;                    /* c= at media level (or session level) */
  vg_addr_t conn;                   /* its IP; port 0 */
} vg_sdp_media_t;

typedef struct {
  /* RFC 8843 7.1: a=group:BUNDLE <mid>...; the first group only. */
  char bundle[VG_SDP_MAX_MEDIA][VG_SDP_MID_LEN];
  size_t n_bundle;
  bool ice_lite;                    /* RFC 8839 5.3 */
  char ice_options[VG_SDP_ICE_OPTIONS_LEN]; /* as written, "" if none */

  /* Session-level values as written ("" / NONE when absent). The media
   * sections already carry the effective values. */
  char ice_ufrag[VG_SDP_UFRAG_LEN];
  char ice_pwd[VG_SDP_PWD_LEN];
  vg_sdp_fingerprint_t fingerprint;
  vg_sdp_setup_t setup;
  bool has_conn;
  vg_addr_t conn;

  vg_sdp_media_t media[VG_SDP_MAX_MEDIA];
  size_t n_media;

  char why_buf[VG_SDP_WHY_LEN];     /* the reason of the last failed parse */
} vg_sdp_t;

/* ---- Parsing ------------------------------------------------------------ */

/* Parses a full session description (offer or answer). CRLF and bare LF
 * line ends are both accepted. `out` is caller-allocated and overwritten;
 * it does not borrow `text`. On error `why` (nullable) is pointed at a
 * one-line reason naming the line ("line 7: ..."), stored in out->why_buf:
 * it stays valid until `out` is reused or freed.
 * Returns VG_OK, or VG_EINVAL for malformed input (no v= line first, a bad
 * known line, an over-long value, too many m= sections). */
int vg_sdp_parse(vg_sdp_t *out, const char *text, size_t len, const char **why) VG_MUST_USE;

/* Parses a trickle-ICE sdpfrag (RFC 8840 4.4, RFC 9725 4.3.1): session
 * level a=ice-ufrag, a=ice-pwd, a=ice-options, a=group; then sections that
 * each start at an m= line or, when there is none, at an a=mid line; each
 * with a=mid, a=ice-ufrag/pwd, a=candidate, a=end-of-candidates. Candidates
 * before any section go into one implicit section with an empty mid. No v=
 * line is needed. Same return values and `why` rules as vg_sdp_parse. */
int vg_sdp_parse_frag(vg_sdp_t *out, const char *text, size_t len, const char **why) VG_MUST_USE;

/* The section's Opus codec (encoding "opus", case-insensitive, clock 48000,
 * 2 channels per RFC 7587 7), or NULL. Borrows from `m`. */
const vg_sdp_codec_t *vg_sdp_find_opus(const vg_sdp_media_t *m);

/* ---- Building ----------------------------------------------------------- */

/* A local candidate to announce (the server's are host candidates). */
typedef struct {
  vg_addr_t addr;          /* literal IP, port, UDP or TCP */
  uint32_t priority;
  const char *foundation;  /* borrowed; 1..32 ice-chars */
  /* TCP only: NONE writes "tcptype passive" (RFC 6544: an ICE-lite server
   * accepts, never connects). */
  vg_sdp_tcptype_t tcptype;
} vg_sdp_local_candidate_t;

/* Parameters of our answer. All strings are borrowed for the call. */
typedef struct {
  const char *ice_ufrag;        /* required, 4..256 ice-chars */
  const char *ice_pwd;          /* required, 22..256 ice-chars */
  const char *fingerprint_alg;  /* required, e.g. "sha-256" */
  const char *fingerprint;      /* required, "AB:CD:..." matching the alg */
  /* NONE = choose (RFC 5763 5): passive, or active when the offer said
   * passive. Anything else is used as given (never ACTPASS in an answer). */
  vg_sdp_setup_t setup;
  bool ice_lite;                /* writes a=ice-lite */
  /* Borrowed, nullable if n = 0. Written in order (the first one's address
   * and port go on the m= and c= lines), then a=end-of-candidates: an
   * ICE-lite server gathers nothing later. */
  const vg_sdp_local_candidate_t *candidates;
  size_t n_candidates;
  uint32_t ssrc;                /* our audio SSRC */
  const char *cname;            /* required, our RTCP cname */
  const char *msid;             /* nullable: "<stream> <track>" for a=msid */
  uint64_t session_id;          /* o= sess-id (and sess-version 1) */
} vg_sdp_answer_params_t;

/* What the answer agreed to; copies, no pointers into the offer. */
typedef struct {
  size_t media_index;           /* the accepted section in the offer */
  char mid[VG_SDP_MID_LEN];     /* its mid ("" if the offer had none) */
  bool bundled;                 /* the answer has a=group:BUNDLE <mid> */
  uint8_t opus_pt;
  char remote_opus_fmtp[VG_SDP_FMTP_LEN]; /* the offer's Opus fmtp, "" if none */
  char remote_ice_ufrag[VG_SDP_UFRAG_LEN];
  char remote_ice_pwd[VG_SDP_PWD_LEN];
  vg_sdp_fingerprint_t remote_fingerprint;
  vg_sdp_setup_t remote_setup;  /* as offered (NONE if absent) */
  vg_sdp_setup_t local_setup;   /* ACTIVE or PASSIVE (or HOLDCONN if given) */
  bool remote_rtcp_mux;         /* the offer had a=rtcp-mux (we always mux) */
  vg_sdp_direction_t remote_direction;
  vg_sdp_direction_t local_direction;  /* the mirror of remote_direction */
  bool has_remote_ssrc;
  uint32_t remote_ssrc;
} vg_sdp_answer_info_t;

/* Writes the answer to `offer` into out[0..cap) (NUL-terminated). `info`
 * and `why` are nullable. Returns the length written (without the NUL) or:
 *   VG_EUNSUPPORTED  no audio section offers Opus over DTLS-SRTP
 *                    (why: "the offer has no audio with Opus"; HTTP 422)
 *   VG_EINVAL        the accepted section lacks ice-ufrag/ice-pwd or a
 *                    fingerprint, or `p` is invalid (HTTP 400)
 *   VG_ENOSPC        cap too small (8 KB always holds the answer to any
 *                    offer vg_sdp_parse accepts, with up to 8 candidates) */
int vg_sdp_build_answer(const vg_sdp_t *offer, const vg_sdp_answer_params_t *p, char *out,
                        size_t cap, vg_sdp_answer_info_t *info, const char **why) VG_MUST_USE;

/* Parameters of a client offer. All strings are borrowed for the call. */
typedef struct {
  const char *ice_ufrag;        /* required, 4..256 ice-chars */
  const char *ice_pwd;          /* required, 22..256 ice-chars */
  const char *fingerprint_alg;  /* required */
  const char *fingerprint;      /* required */
  uint32_t ssrc;
  const char *cname;            /* required */
  uint64_t session_id;
  const vg_sdp_local_candidate_t *candidates; /* borrowed, nullable if n = 0 */
  size_t n_candidates;          /* TCP ones default to "tcptype active" */
} vg_sdp_offer_params_t;

/* Writes a controlling client's offer: BUNDLE of mid "0", one audio section
 * "m=audio <port> UDP/TLS/RTP/SAVPF 111", opus/48000/2, rtcp-mux, sendrecv,
 * setup actpass, a=ssrc cname, the candidates and a=end-of-candidates.
 * Returns the length written (NUL-terminated), VG_EINVAL for bad params,
 * VG_ENOSPC when cap is too small. */
int vg_sdp_build_offer(const vg_sdp_offer_params_t *p, char *out, size_t cap) VG_MUST_USE;

/* Names for logs and SDP: "audio", "sendrecv", "passive". Never NULL. */
const char *vg_sdp_kind_name(vg_sdp_kind_t k);
const char *vg_sdp_direction_name(vg_sdp_direction_t d);
const char *vg_sdp_setup_name(vg_sdp_setup_t s);

#endif
