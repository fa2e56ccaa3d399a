// @vitest-environment jsdom
// @togglerino/react against the real binaries: useFlag re-renders with a toggle made
// through the management API.
import { act, cleanup, render, screen, waitFor } from "@testing-library/react";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TogglerinoProvider, useFlagDetails, useFlagsStatus } from "../react/src/index.js";
import { startStack, type Stack } from "../../testing/stack.mjs";
import { seedShop, type Shop } from "./shop.js";

let stack: Stack;
let shop: Shop;

beforeAll(async () => {
  stack = await startStack("sdk_react");
  shop = await seedShop(stack.cpUrl);
});

afterAll(async () => {
  cleanup();
  await stack?.stop();
});

function Checkout() {
  const { reason } = useFlagDetails("checkout");
  const { ready, status } = useFlagsStatus();
  return <p data-testid="checkout">{`${reason} ${ready} ${status}`}</p>;
}

describe("@togglerino/react with a real edge", () => {
  it("re-renders useFlag's component when the flag is toggled", async () => {
    render(
      <TogglerinoProvider
        config={{
          baseUrl: stack.edgeUrl,
          sdkKey: shop.sdkKey,
          project: "shop",
          environment: "production",
          context: { user_id: "u1" },
          storage: null,
        }}
      >
        <Checkout />
      </TogglerinoProvider>,
    );
    await waitFor(() => expect(screen.getByTestId("checkout").textContent).toBe("DISABLED true streaming"), {
      timeout: 10_000,
    });
    await act(() => shop.toggle(true));
    await waitFor(() => expect(screen.getByTestId("checkout").textContent).toBe("DEFAULT true streaming"), {
      timeout: 2_000,
    });
  });
});
