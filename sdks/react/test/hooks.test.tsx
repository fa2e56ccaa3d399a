import { act, cleanup, render, screen } from "@testing-library/react";
import { Profiler, StrictMode, Suspense, useEffect } from "react";
import { hydrateRoot } from "react-dom/client";
import { renderToString } from "react-dom/server";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Togglerino, type FlagValues } from "@togglerino/sdk";
import {
  TogglerinoProvider,
  TogglerinoTestProvider,
  useFlag,
  useFlagDetails,
  useFlagsStatus,
  useTogglerino,
} from "../src/index.js";
import { FakeEdge } from "../../javascript/test/fake-edge.js";

const flag = (value: unknown, variant = "v") => ({ value, variant, reason: "DEFAULT" });
let edge: FakeEdge;

function config(extra: Partial<ConstructorParameters<typeof Togglerino>[0]> = {}) {
  return {
    baseUrl: "http://edge.test",
    sdkKey: "sdk_test",
    project: "shop",
    environment: "production",
    context: { user_id: "u1" },
    storage: null,
    ...extra,
  };
}

async function flush() {
  await act(async () => {
    for (let i = 0; i < 20; i++) await new Promise((r) => setTimeout(r, 0));
  });
}

function Value({ name }: { name: string }) {
  const value = useFlag(name, false);
  return <span data-testid={name}>{String(value)}</span>;
}

/** A flag's value, its renders counted by a Profiler to show which components a change re-renders. */
const renders = new Map<string, number>();
const counted = (id: string) => void renders.set(id, (renders.get(id) ?? 0) + 1);

function Flag({ name }: { name: string }) {
  return (
    <Profiler id={name} onRender={counted}>
      <Value name={name} />
    </Profiler>
  );
}

beforeEach(() => {
  edge = new FakeEdge();
  vi.stubGlobal("fetch", edge.fetch);
});

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

describe("@togglerino/react", () => {
  it("renders live values and re-renders only the component whose flag changed", async () => {
    renders.clear();
    render(
      <TogglerinoProvider config={config()}>
        <Flag name="a" />
        <Flag name="b" />
      </TogglerinoProvider>,
    );
    expect(screen.getByTestId("a").textContent).toBe("false");
    await flush();
    await act(async () => edge.last.flags({ a: flag(true), b: flag(false) }, 1));
    await flush();
    expect(screen.getByTestId("a").textContent).toBe("true");
    const before = new Map(renders);
    await act(async () => edge.last.patch({ a: flag(true), b: flag(true) }, [], 2));
    await flush();
    expect(screen.getByTestId("b").textContent).toBe("true");
    expect(renders.get("b")).toBe((before.get("b") ?? 0) + 1);
    expect(renders.get("a")).toBe(before.get("a"));
  });

  it("reports status and errors, and closes its own client on unmount", async () => {
    edge.down = true;
    function Status() {
      const { ready, error, status } = useFlagsStatus();
      return <p data-testid="status">{`${ready} ${status} ${error?.code ?? "-"}`}</p>;
    }
    const grabbed: Togglerino[] = [];
    function Grab() {
      const client = useTogglerino();
      useEffect(() => void grabbed.push(client), [client]);
      return null;
    }
    const view = render(
      <StrictMode>
        <TogglerinoProvider config={config()}>
          <Status />
          <Grab />
        </TogglerinoProvider>
      </StrictMode>,
    );
    await flush();
    expect(screen.getByTestId("status").textContent).toBe("false offline network");
    edge.down = false;
    await act(async () => {
      await new Promise((r) => setTimeout(r, 1_100));
    });
    await act(async () => edge.last.flags({}, 1));
    await flush();
    expect(screen.getByTestId("status").textContent).toBe("true streaming -");
    view.unmount();
    await flush();
    expect(edge.open).toHaveLength(0);
    expect(grabbed.at(-1)?.status).toBe("streaming");
  });

  it("suspends until the first answer in suspense mode", async () => {
    render(
      <TogglerinoProvider config={config()} suspense>
        <Suspense fallback={<p>loading</p>}>
          <Flag name="a" />
        </Suspense>
      </TogglerinoProvider>,
    );
    expect(screen.getByText("loading")).toBeTruthy();
    await flush();
    await act(async () => edge.last.flags({ a: flag(true) }, 1));
    await flush();
    expect(screen.getByTestId("a").textContent).toBe("true");
  });

  it("renders the same markup on the server and on hydration with bootstrap", async () => {
    const bootstrap: FlagValues = { banner: flag("Spring sale"), dark: flag(true, "on") };
    function Page() {
      const banner = useFlag("banner", "none");
      const dark = useFlagDetails("dark");
      return <main>{`${banner} ${String(dark.value)} ${dark.variant}`}</main>;
    }
    const app = () => (
      <TogglerinoProvider config={config({ bootstrap })}>
        <Page />
      </TogglerinoProvider>
    );
    // On the server: no window, no fetch.
    const html = renderToString(app());
    expect(html).toContain("Spring sale true on");
    const fetches = vi.fn(edge.fetch);
    vi.stubGlobal("fetch", fetches);
    const container = document.createElement("div");
    container.innerHTML = html;
    const errors: unknown[] = [];
    const consoleError = vi.spyOn(console, "error").mockImplementation((...args) => errors.push(args));
    await act(async () => {
      hydrateRoot(container, app(), { onRecoverableError: (e) => errors.push(e) });
    });
    await flush();
    consoleError.mockRestore();
    expect(errors).toEqual([]);
    expect(container.textContent).toBe("Spring sale true on");
    expect(fetches).toHaveBeenCalled();
  });

  it("gives application tests fixed values with TogglerinoTestProvider", () => {
    function Checkout() {
      const enabled = useFlag("new-checkout", false);
      const limit = useFlag("limit", 1);
      const { ready } = useFlagsStatus();
      return <p>{`${enabled} ${limit} ${ready}`}</p>;
    }
    render(
      <TogglerinoTestProvider flags={{ "new-checkout": true, limit: "not a number" }}>
        <Checkout />
      </TogglerinoTestProvider>,
    );
    expect(screen.getByText("true 1 true")).toBeTruthy();
    expect(edge.streams).toHaveLength(0);
  });

  it("says what is missing when a hook has no provider", () => {
    function Lonely() {
      useFlag("a", false);
      return null;
    }
    vi.spyOn(console, "error").mockImplementation(() => undefined);
    expect(() => render(<Lonely />)).toThrow(/TogglerinoProvider/);
  });
});
