/* SPDX-License-Identifier: Apache-2.0 */
/*
 * wipebio.h: a buffering filter BIO like OpenSSL's BIO_f_buffer (a
 * read-ahead buffer and a write buffer over the next BIO), except that
 * every byte it held is wiped as soon as it is consumed or sent and when
 * the BIO is freed. The unix-socket connections (no TLS) carry passwords,
 * plaintext and random bytes through these buffers; BIO_f_buffer would
 * leave them in freed heap memory.
 */
#ifndef CF_WIPEBIO_H
#define CF_WIPEBIO_H

#include <stddef.h>

#include <openssl/bio.h>

/* A new filter with `size`-byte buffers (each way); NULL on failure. Push
 * it on a source/sink BIO with BIO_push(). BIO_ctrl_pending() counts the
 * read bytes it holds, BIO_flush() sends what it holds. */
BIO *cf_wipebio_new(size_t size);

#endif
