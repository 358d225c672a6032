function main() { SECRETS.API_KEY = "x"; return [typeof std, typeof os, typeof require, typeof globalThis.SECRETS, Object.isFrozen(SECRETS)]; }
