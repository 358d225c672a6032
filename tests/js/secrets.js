// expect: {"key":"v","other":"s3cr3t","names":["K","OTHER"],"missing":true}
// secrets: {"K":"v","OTHER":"s3cr3t"}
// The caller's secrets are visible through the global SECRETS, name -> string.
function main() {
    return {
        key: SECRETS.K,
        other: SECRETS["OTHER"],
        names: Object.keys(SECRETS).sort(),
        missing: SECRETS.NOPE === undefined,
    };
}
