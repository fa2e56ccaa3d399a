import type { EnvironmentUsage, FlagUsage } from "../api/types";
import { compactCount, variantLabel } from "./format";

const PALETTE = ["#4353ff", "#1f9d55", "#e58a00", "#c62b38", "#7a2fc9", "#0a8ea0", "#b8548c", "#6b7d2a"];
const OFF_COLOR = "#9aa3ae";
const WIDTH = 720;
const HEIGHT = 140;

/** One color per variant, in the order they are listed (most served first); gray for off. */
export function variantColors(usage: EnvironmentUsage): Map<string | null, string> {
  const colors = new Map<string | null, string>();
  let next = 0;
  for (const { variant } of usage.variants) {
    colors.set(variant, variant === null ? OFF_COLOR : (PALETTE[next++ % PALETTE.length] as string));
  }
  return colors;
}

/** Every bucket of the range, empty ones included, so gaps show as gaps. */
function slots(range: FlagUsage): number[] {
  const step = range.step === "minute" ? 60_000 : 3_600_000;
  const first = Math.floor(Date.parse(range.from) / step) * step;
  const end = Date.parse(range.to);
  const out: number[] = [];
  for (let at = first; at < end && out.length < 2_000; at += step) out.push(at);
  return out;
}

/** Evaluations over time as stacked bars, one color per variant, with a legend of totals. */
export function UsageChart({ range, usage, environmentName }: { range: FlagUsage; usage: EnvironmentUsage; environmentName: string }) {
  const colors = variantColors(usage);
  const byStart = new Map(usage.buckets.map((b) => [Date.parse(b.start), b]));
  const all = slots(range);
  const totals = all.map((at) => (byStart.get(at)?.counts ?? []).reduce((sum, c) => sum + c.count, 0));
  const peak = Math.max(1, ...totals);
  const barWidth = WIDTH / Math.max(1, all.length);
  const unit = range.step === "minute" ? "minute" : "hour";
  return (
    <figure className="usage-chart">
      <svg
        viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
        preserveAspectRatio="none"
        role="img"
        aria-label={`Evaluations per ${unit} in ${environmentName}: ${usage.total.toLocaleString("en-US")} in all, at most ${peak.toLocaleString("en-US")} in one ${unit}`}
      >
        <line x1={0} y1={HEIGHT - 0.5} x2={WIDTH} y2={HEIGHT - 0.5} className="axis" />
        {all.map((at, i) => {
          const bucket = byStart.get(at);
          if (!bucket) return null;
          let y = HEIGHT;
          const when = new Date(at).toLocaleString();
          return (
            <g key={at}>
              <title>{`${when}: ${bucket.counts.map((c) => `${variantLabel(c.variant)} ${c.count}`).join(", ")}`}</title>
              {bucket.counts.map((c) => {
                const height = (c.count / peak) * (HEIGHT - 4);
                y -= height;
                return (
                  <rect
                    key={c.variant ?? "\u0000off"}
                    x={i * barWidth + barWidth * 0.1}
                    y={y}
                    width={Math.max(1, barWidth * 0.8)}
                    height={height}
                    fill={colors.get(c.variant) ?? OFF_COLOR}
                  />
                );
              })}
            </g>
          );
        })}
      </svg>
      <figcaption>
        <ul className="legend" aria-label="Evaluations per variant">
          {usage.variants.map((c) => (
            <li key={c.variant ?? "\u0000off"}>
              <span className="swatch" style={{ background: colors.get(c.variant) }} aria-hidden />
              {variantLabel(c.variant)} <strong>{compactCount(c.count)}</strong>
            </li>
          ))}
        </ul>
      </figcaption>
    </figure>
  );
}
