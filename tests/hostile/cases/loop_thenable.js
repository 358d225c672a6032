// expect: TIMEOUT
// An async main resolves to a thenable whose then() never resolves but keeps re-scheduling itself.
async function main() {
    return {
        then(resolve) {
            Promise.resolve().then(() => this.then(resolve));
        },
    };
}
