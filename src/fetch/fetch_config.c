/* The fetch policy from the configuration's "Fetch" section (config.h), for ncsld and `ncsl run`.
 */
#include "config/config.h"
#include "fetch/fetch.h"

ncsl_status ncsl_fetch_configure_from_config(const struct ncsl_config *cfg, ncsl_err *err) {
    const char *hosts[NCSL_CONFIG_MAX_FETCH_HOSTS];
    size_t n = cfg->fetch.allowed_host_count;
    if (n > NCSL_CONFIG_MAX_FETCH_HOSTS) {
        n = NCSL_CONFIG_MAX_FETCH_HOSTS;
    }
    for (size_t i = 0; i < n; i++) {
        hosts[i] = cfg->fetch.allowed_hosts[i];
    }
    ncsl_fetch_policy p;
    ncsl_fetch_policy_default(&p);
    p.allowed_hosts = hosts;
    p.allowed_host_count = n;
    p.allow_private_networks = cfg->fetch.allow_private_networks;
    p.max_requests_per_call = cfg->fetch.max_requests_per_call;
    p.max_response_bytes = cfg->fetch.max_response_bytes;
    p.max_request_bytes = cfg->fetch.max_request_bytes;
    p.timeout_ms = cfg->fetch.timeout_ms;
    p.max_concurrent = cfg->fetch.max_concurrent;
    return ncsl_fetch_configure(&p, err);
}
