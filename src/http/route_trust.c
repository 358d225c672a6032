/*
 * The trust routes: what TEE this daemon runs in (tee-info). Handlers run on MHD threads; the
 * TEE calls they make are short (no JavaScript, no I/O beyond the TEE's own).
 */
#include <stdio.h>
#include <string.h>

#include "crypto/crypto.h"
#include "http_int.h"
#include "tee/tee.h"

static json_t *hex_json(const uint8_t *p, size_t n) {
    char hex[2 * 64 + 1];
    if (n > 64 || ncsl_crypto_hex_encode(p, n, hex, sizeof(hex), NULL) != NCSL_OK) {
        return json_null();
    }
    return json_string(hex);
}

/* 503 when the daemon runs without a TEE handle (tests that only need execution). */
static enum MHD_Result answer_no_tee(http_req *r) {
    return ncsl__http_answer_error(r, 503, "SERVICE_UNAVAILABLE", "this server has no TEE attached",
                                   NULL, NULL);
}

enum MHD_Result ncsl__http_route_tee_info(http_req *r) {
    ncsl_tee *tee = r->srv->services.tee;
    if (!tee) {
        return answer_no_tee(r);
    }
    ncsl_tee_measurement m;
    ncsl_err err;
    ncsl_err_clear(&err);
    ncsl_status st = ncsl_tee_measure(tee, &m, &err);
    if (st != NCSL_OK) {
        NCSL_LOG_ERROR("http", "tee-info: measuring failed: %s", err.message);
        return ncsl__http_answer_status(r, st, &err);
    }
    bool sim = ncsl_tee_get_kind(tee) == NCSL_TEE_KIND_SIMULATION;
    json_t *d = json_object();
    if (!d) {
        return ncsl__http_answer_data(r, NULL);
    }
    json_object_set_new(d, "teeType", json_string(ncsl_tee_name(tee)));
    json_object_set_new(d, "hardware", json_boolean(!sim));
    json_object_set_new(d, "reason", json_string(ncsl_tee_reason(tee)));
    json_object_set_new(d, "mrEnclave", hex_json(m.mr_enclave, sizeof(m.mr_enclave)));
    json_object_set_new(d, "mrSigner", hex_json(m.mr_signer, sizeof(m.mr_signer)));
    json_object_set_new(d, "isvProdId", json_integer(m.isv_prod_id));
    json_object_set_new(d, "isvSvn", json_integer(m.isv_svn));
    json_object_set_new(d, "debug", json_boolean(m.debug));
    json_object_set_new(d, "attributes", hex_json(m.attributes, sizeof(m.attributes)));
    if (sim) {
        json_object_set_new(d, "warning",
                            json_string("simulation mode: no hardware protection; proofs from "
                                        "this server verify only with simulation explicitly "
                                        "allowed"));
    }
    return ncsl__http_answer_data(r, d);
}
