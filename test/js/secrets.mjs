// Drives an edgevault vault with the official Azure SDK for JavaScript
// (@azure/keyvault-secrets with @azure/identity), unmodified: only the
// authority host, the vault URL and a CA bundle (NODE_EXTRA_CA_CERTS) point
// it at edgevault. Run by internal/e2e (TestKeyVaultJS), which sets:
//   EV_AUTHORITY_HOST, EV_TENANT_ID, EV_CLIENT_ID, EV_CLIENT_SECRET, EV_VAULT_URL
// It prints one line per check and ends with "N passed, M failed".
import assert from "node:assert/strict";
import { ClientSecretCredential } from "@azure/identity";
import { SecretClient } from "@azure/keyvault-secrets";

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
};

const credential = new ClientSecretCredential(env("EV_TENANT_ID"), env("EV_CLIENT_ID"), env("EV_CLIENT_SECRET"), {
  authorityHost: env("EV_AUTHORITY_HOST"),
  disableInstanceDiscovery: true,
});
const client = new SecretClient(env("EV_VAULT_URL"), credential);
// The SDK pollers wait 2 s between polls by default; a local server answers at once.
const poll = { intervalInMs: 50 };

let passed = 0;
let failed = 0;
async function check(name, fn) {
  try {
    await fn();
    passed++;
    console.log(`ok   ${name}`);
  } catch (err) {
    failed++;
    console.log(`FAIL ${name}: ${err && err.stack ? err.stack : err}`);
  }
}

const name = `js-${Date.now()}`;

await check("setSecret creates a version", async () => {
  const s = await client.setSecret(name, "first value", { contentType: "text/plain", tags: { from: "js" } });
  assert.equal(s.value, "first value");
  assert.equal(s.name, name);
  assert.match(s.properties.version, /^[0-9a-f]{32}$/);
  assert.equal(s.properties.contentType, "text/plain");
  assert.equal(s.properties.tags.from, "js");
  assert.ok(s.properties.createdOn instanceof Date);
});

await check("setSecret again makes a new current version", async () => {
  await client.setSecret(name, "second value");
  const s = await client.getSecret(name);
  assert.equal(s.value, "second value");
  const versions = [];
  for await (const p of client.listPropertiesOfSecretVersions(name)) versions.push(p.version);
  assert.equal(versions.length, 2);
});

await check("listPropertiesOfSecrets includes it, without values", async () => {
  let found = false;
  for await (const p of client.listPropertiesOfSecrets()) {
    if (p.name === name) found = true;
    assert.equal(p.value, undefined);
  }
  assert.ok(found);
});

await check("updateSecretProperties changes attributes only", async () => {
  const current = await client.getSecret(name);
  const p = await client.updateSecretProperties(name, current.properties.version, { enabled: true, tags: { updated: "yes" } });
  assert.equal(p.tags.updated, "yes");
  assert.equal((await client.getSecret(name)).value, "second value");
});

await check("beginDeleteSecret poller completes; getSecret is then 404", async () => {
  const poller = await client.beginDeleteSecret(name, poll);
  const deleted = await poller.pollUntilDone();
  assert.equal(deleted.name, name);
  assert.ok(deleted.recoveryId);
  await assert.rejects(client.getSecret(name), (e) => e.statusCode === 404 && e.code === "SecretNotFound");
});

await check("getDeletedSecret and listDeletedSecrets see it", async () => {
  const d = await client.getDeletedSecret(name);
  assert.equal(d.name, name);
  assert.ok(d.properties.scheduledPurgeDate instanceof Date || d.scheduledPurgeDate instanceof Date);
  let found = false;
  for await (const s of client.listDeletedSecrets()) if (s.name === name) found = true;
  assert.ok(found);
});

await check("beginRecoverDeletedSecret poller brings it back", async () => {
  const poller = await client.beginRecoverDeletedSecret(name, poll);
  await poller.pollUntilDone();
  assert.equal((await client.getSecret(name)).value, "second value");
});

await check("delete then purgeDeletedSecret removes it for good", async () => {
  await (await client.beginDeleteSecret(name, poll)).pollUntilDone();
  await client.purgeDeletedSecret(name);
  await assert.rejects(client.getDeletedSecret(name), (e) => e.statusCode === 404);
});

console.log(`${passed} passed, ${failed} failed`);
process.exitCode = failed === 0 ? 0 : 1;
