/* voxgate error codes.
 *
 * Every fallible function returns an int: >= 0 is success (often a count or
 * a length), a negative VG_E... code is failure. Parsers return the bytes
 * they consumed, VG_EAGAIN when the input is incomplete, or an error, and
 * fill a `const char **why` with a one-line human reason. */
#ifndef VG_BASE_ERR_H
#define VG_BASE_ERR_H

#define VG_MUST_USE __attribute__((warn_unused_result))

enum {
  VG_OK = 0,
  VG_EAGAIN = -1,       /* incomplete input: call again with more */
  VG_EINVAL = -2,       /* bad argument or malformed input */
  VG_ENOMEM = -3,       /* allocation failed */
  VG_ENOSPC = -4,       /* output buffer too small */
  VG_EPROTO = -5,       /* wire data breaks the protocol */
  VG_EAUTH = -6,        /* integrity or authentication check failed */
  VG_ENOTFOUND = -7,    /* no such peer, attribute, entry */
  VG_ESTATE = -8,       /* not allowed in the current state */
  VG_ETIMEDOUT = -9,    /* a deadline passed */
  VG_EUNSUPPORTED = -10,/* valid but not something we support */
  VG_ECRYPTO = -11,     /* a cryptographic operation failed */
  VG_EREPLAY = -12,     /* replayed or too-old packet */
  VG_ECLOSED = -13,     /* the object is closed */
  VG_EEXIST = -14,      /* already present */
  VG_ELIMIT = -15,      /* a configured limit was reached */
};

/* A static, human-readable description of `err` (never NULL). */
const char *vg_strerror(int err);

#endif
