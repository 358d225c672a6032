/* crypto: internals shared by the files of this folder only. */
#ifndef NCSL_CRYPTO_INT_H
#define NCSL_CRYPTO_INT_H

#include "crypto/crypto.h"

/* Records an OpenSSL failure of `what` (a static description, borrowed) as NCSL_E_CRYPTO in err
 * (may be NULL), with OpenSSL's reason string, clears the thread's OpenSSL error queue and
 * returns NCSL_E_CRYPTO. */
ncsl_status ncsl__crypto_fail(ncsl_err *err, const char *what);

#endif
