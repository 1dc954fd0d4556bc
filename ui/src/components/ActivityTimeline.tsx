import type { TimelineDay } from "../backend";
import { niceMax, timelineSeries } from "../lib/filters";
import { axisLabel, axisPadding } from "../lib/chart";

const W = 920;
const H = 190;
/** Font size of the axis labels in chart units (matches `.timeline .axis`). */
const AXIS_FONT = 11;
const PAD_B = 24;
const PAD_T = 10;

/** Accesses and refusals per day as stacked bars (hand-drawn SVG; colours come from the style sheet). */
export function ActivityTimeline(props: { buckets: TimelineDay[]; days: number }) {
  const now = new Date();
  const series = timelineSeries(props.buckets, props.days, now);
  const max = niceMax(Math.max(0, ...series.map((s) => s.allowed + s.refused)));
  const ticks = Number.isInteger(max / 2) ? [0, max / 2, max] : [0, max];
  // Reserve room for the widest tick label ("5,000") so it is never clipped at the left edge.
  const padL = axisPadding(ticks.map(axisLabel), AXIS_FONT);
  const plotW = W - padL - 6;
  const plotH = H - PAD_T - PAD_B;
  const step = plotW / series.length;
  const barW = Math.max(3, step * 0.64);
  const y = (v: number) => PAD_T + plotH - (v / max) * plotH;
  const total = series.reduce((a, s) => a + s.allowed + s.refused, 0);
  return (
    <figure className="timeline" data-testid="activity-chart" data-total={total}>
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={`Accesses and refusals over the last ${props.days} days`}>
        {ticks.map((t) => (
          <g key={t}>
            <line className="grid" x1={padL} x2={W - 6} y1={y(t)} y2={y(t)} />
            <text className="axis" x={padL - 6} y={y(t) + 4} textAnchor="end">
              {axisLabel(t)}
            </text>
          </g>
        ))}
        {series.map((s, i) => {
          const x = padL + i * step + (step - barW) / 2;
          const hA = (s.allowed / max) * plotH;
          const hR = (s.refused / max) * plotH;
          const label = s.day.slice(5).replace("-", "/");
          const tip = `${s.day}: ${s.allowed} shared, ${s.refused} refused`;
          return (
            <g key={s.day}>
              <title>{tip}</title>
              <rect className="hit" x={padL + i * step} y={PAD_T} width={step} height={plotH} />
              {hA > 0 && <rect className="bar-allowed" x={x} y={y(s.allowed)} width={barW} height={hA} rx={2} />}
              {hR > 0 && <rect className="bar-refused" x={x} y={y(s.allowed) - hR} width={barW} height={hR} rx={2} />}
              {(i % Math.ceil(series.length / 10) === 0 || i === series.length - 1) && (
                <text className="axis" x={x + barW / 2} y={H - 6} textAnchor="middle">
                  {label}
                </text>
              )}
            </g>
          );
        })}
      </svg>
      <figcaption className="legend">
        <span className="legend-item"><span className="swatch swatch-allowed" /> Data shared</span>
        <span className="legend-item"><span className="swatch swatch-refused" /> Refused</span>
        <span className="muted small">{total === 0 ? "No access in this period" : `${total.toLocaleString("en-US")} in ${props.days} days`}</span>
      </figcaption>
    </figure>
  );
}
