// expect: {"type":"object","frozen":true,"errors":["Error: storage is available only to deployed functions (POST /api/v1/functions/{id}/invoke)","Error: storage is available only to deployed functions (POST /api/v1/functions/{id}/invoke)","Error: storage is available only to deployed functions (POST /api/v1/functions/{id}/invoke)","Error: storage is available only to deployed functions (POST /api/v1/functions/{id}/invoke)","Error: storage is available only to deployed functions (POST /api/v1/functions/{id}/invoke)"]}
// `ncsl run` runs code of no deployed function: `storage` exists, and every method rejects.
async function main() {
    const calls = [
        () => storage.get("k"),
        () => storage.set("k", 1),
        () => storage.remove("k"),
        () => storage.list(),
        () => storage.clear(),
    ];
    const errors = [];
    for (const call of calls) {
        try {
            await call();
            errors.push("resolved");
        } catch (e) {
            errors.push(`${e.name}: ${e.message}`);
        }
    }
    return { type: typeof storage, frozen: Object.isFrozen(storage), errors };
}
