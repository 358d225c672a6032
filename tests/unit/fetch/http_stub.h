/*
 * A small HTTP/1.1 server for the fetch tests: 127.0.0.1, an ephemeral port, one thread per
 * connection, every socket polled with a short timeout so that http_stub_stop ends everything.
 *
 * Routes (the path decides; one request per connection, then close):
 *   /json              200 {"ok":true,"n":42}, application/json
 *   /echo              200 text: "METHOD PATH\n", the request's header lines, "\n", the body
 *   /slow?ms=N         waits N ms (default 1000), then 200 "slow"
 *   /hang              reads the request and never answers
 *   /big               200 with no length, streams 'x' forever (until the client goes away)
 *   /big-cl            200 with Content-Length: 1000000000, then streams
 *   /redirect?to=URL   302 Location: URL (URL taken verbatim from the query)
 *   /see-other         303 Location: /echo
 *   /chain/N           302 to /chain/N-1; /chain/0 answers 200 "end"
 *   /headers           200 with repeated and folded headers
 *   /status/N          status N, body "status"
 */
#ifndef NCSL_TEST_HTTP_STUB_H
#define NCSL_TEST_HTTP_STUB_H

#include <stdint.h>

typedef struct http_stub http_stub;

/* Starts the server; NULL on failure. */
http_stub *http_stub_start(void);
/* The port it listens on (127.0.0.1). */
uint16_t http_stub_port(const http_stub *s);
/* Connections accepted so far. */
unsigned http_stub_connections(const http_stub *s);
/* Stops accepting, ends every connection, joins every thread, frees. NULL does nothing. */
void http_stub_stop(http_stub *s);

#endif
