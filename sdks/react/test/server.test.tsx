// @vitest-environment node
import { renderToString } from "react-dom/server";
import { describe, expect, it, vi } from "vitest";
import { TogglerinoProvider, useFlag, useFlagsStatus } from "../src/index.js";

describe("server rendering", () => {
  it("renders bootstrap values without window, network or timers", () => {
    expect(typeof window).toBe("undefined");
    const fetches = vi.fn();
    vi.stubGlobal("fetch", fetches);
    vi.useFakeTimers();
    function Page() {
      const banner = useFlag("banner", "none");
      const missing = useFlag("missing", 42);
      const { ready } = useFlagsStatus();
      return <main>{`${banner} ${missing} ${ready}`}</main>;
    }
    const html = renderToString(
      <TogglerinoProvider
        suspense
        config={{
          baseUrl: "http://edge.test",
          sdkKey: "sdk_test",
          project: "shop",
          environment: "production",
          bootstrap: { banner: { value: "Spring sale", variant: "spring", reason: "TARGETING_MATCH" } },
        }}
      >
        <Page />
      </TogglerinoProvider>,
    );
    expect(html).toBe("<main>Spring sale 42 true</main>");
    expect(fetches).not.toHaveBeenCalled();
    expect(vi.getTimerCount()).toBe(0);
    vi.useRealTimers();
    vi.unstubAllGlobals();
  });
});
