// A deployed function with a stored secret and persistent storage: counts its calls.
// Deploy: ncsl deploy examples/visits.js --name visits --required-secrets API_KEY
async function main(input) {
  const visits = ((await storage.get("visits")) ?? 0) + 1;
  await storage.set("visits", visits); // committed only if main() succeeds
  await storage.set("lastVisitor", input && input.name);
  return {
    visits,
    greeting: `hello ${input && input.name}`,
    apiKeyLength: SECRETS.API_KEY.length, // the secret itself never leaves the enclave
  };
}
