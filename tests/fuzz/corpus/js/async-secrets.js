async function main(input) { console.log("hello", input.list); await null; return { keyLength: SECRETS.API_KEY.length, keys: Object.keys(SECRETS) }; }
