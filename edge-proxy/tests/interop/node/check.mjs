// Evaluates flags on a live edge through OpenFeature's official server SDK and OFREP
// provider, with no Togglerino code, and prints what the application would see.
// Usage: EDGE_URL=http://127.0.0.1:8090 SDK_KEY=sdk_… node check.mjs
import { OpenFeature } from '@openfeature/server-sdk';
import { OFREPProvider } from '@openfeature/ofrep-provider';

const { EDGE_URL, SDK_KEY } = process.env;
await OpenFeature.setProviderAndWait(
  new OFREPProvider({ baseUrl: EDGE_URL, headers: [['Authorization', `Bearer ${SDK_KEY}`]] }),
);
const client = OpenFeature.getClient();
const context = { targetingKey: 'user-1', plan: 'free' };
const pick = (d) => ({ value: d.value, variant: d.variant ?? null, reason: d.reason, errorCode: d.errorCode ?? null });
const results = {
  boolean: pick(await client.getBooleanDetails('checkout', true, context)),
  string: pick(await client.getStringDetails('banner', 'fallback', context)),
  number: pick(await client.getNumberDetails('ratio', 0, context)),
  object: pick(await client.getObjectDetails('theme', {}, context)),
  missing: pick(await client.getBooleanDetails('no-such-flag', true, context)),
};
console.log(JSON.stringify(results));
await OpenFeature.close();
