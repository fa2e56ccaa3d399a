import { useState } from "react";
import { useQuery } from "@tanstack/react-query";

import { api, seg } from "../api/client";
import type { Environment, FlagUsage as Usage } from "../api/types";
import { Failed, Loading } from "../components/ui";
import { ago } from "./format";
import { UsageChart } from "./UsageChart";

const RANGES = [
  { key: "1h", label: "Last hour", hours: 1 },
  { key: "24h", label: "Last 24 hours", hours: 24 },
  { key: "7d", label: "Last 7 days", hours: 24 * 7 },
  { key: "30d", label: "Last 30 days", hours: 24 * 30 },
] as const;

/** A flag's evaluations in one environment, as edges and SDKs reported them. */
export function FlagUsage({ projectKey, flagKey, environment }: { projectKey: string; flagKey: string; environment: Environment }) {
  const [rangeKey, setRangeKey] = useState<(typeof RANGES)[number]["key"]>("24h");
  const range = RANGES.find((r) => r.key === rangeKey) ?? RANGES[1];
  const usage = useQuery({
    queryKey: ["flag-usage", projectKey, flagKey, environment.key, range.key],
    queryFn: () => {
      const to = new Date();
      const from = new Date(to.getTime() - range.hours * 3_600_000);
      const query = new URLSearchParams({
        environment: environment.key,
        from: from.toISOString(),
        to: to.toISOString(),
        step: range.hours <= 1 ? "minute" : "hour",
      });
      return api.get<Usage>(`/projects/${seg(projectKey)}/flags/${seg(flagKey)}/usage?${query.toString()}`);
    },
    refetchInterval: 60_000,
  });
  const here = usage.data?.environments.find((e) => e.environment === environment.key);
  return (
    <section className="usage" aria-labelledby="usage-title">
      <div className="usage-header">
        <h2 id="usage-title">Evaluations in {environment.name}</h2>
        <label>
          <span className="visually-hidden">Time range</span>
          <select aria-label="Time range" value={range.key} onChange={(e) => setRangeKey(e.target.value as typeof rangeKey)}>
            {RANGES.map((r) => (
              <option key={r.key} value={r.key}>
                {r.label}
              </option>
            ))}
          </select>
        </label>
      </div>
      {usage.isPending ? (
        <Loading what="evaluations" />
      ) : usage.isError ? (
        <Failed error={usage.error} retry={() => void usage.refetch()} />
      ) : !here ? null : (
        <>
          <p className="muted" data-testid="last-evaluated">
            {here.last_evaluated_at
              ? `Last evaluated ${ago(here.last_evaluated_at)} · ${here.total.toLocaleString("en-US")} evaluations in this range`
              : "Never evaluated here yet: counts arrive from edges once a minute."}
          </p>
          {here.total > 0 && <UsageChart range={usage.data} usage={here} environmentName={environment.name} />}
        </>
      )}
    </section>
  );
}
