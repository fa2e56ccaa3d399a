// A page on OpenFeature's official web SDK and OFREP web provider, and nothing of ours:
// it shows the `checkout` flag and counts configuration changes.
import { OpenFeature, ProviderEvents } from "@openfeature/web-sdk";
import { OFREPWebProvider } from "@openfeature/ofrep-web-provider";

const { baseUrl, sdkKey } = (window as unknown as { OFREP: { baseUrl: string; sdkKey: string } }).OFREP;
const checkout = document.getElementById("checkout") as HTMLElement;
const changes = document.getElementById("changes") as HTMLElement;
let changed = 0;

const client = OpenFeature.getClient();
const show = () => {
  const details = client.getBooleanDetails("checkout", true);
  checkout.textContent = `${details.value} ${details.reason}`;
};
client.addHandler(ProviderEvents.ConfigurationChanged, () => {
  changes.textContent = String(++changed);
  show();
});
await OpenFeature.setContext({ targetingKey: "ofrep-user" });
await OpenFeature.setProviderAndWait(
  // A short inactivity delay, so the test sees the provider close and resume its stream.
  new OFREPWebProvider({ baseUrl, headers: [["X-API-Key", sdkKey]], inactivityDelaySec: 1 }),
);
show();
