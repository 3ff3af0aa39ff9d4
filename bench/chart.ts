/**
 * Draws the benchmark summary as an SVG bar chart: one bar per measured ratio, with its target marked, so that the
 * README can show at a glance where rxjet stands against the bare platform.
 */

/** One bar: a ratio against its baseline, and the target it is held to. */
export interface Bar {
  /** The scenario, shown as a group heading. */
  group: string;
  label: string;
  value: number;
  /** The target ratio; `atLeast` for throughput-like figures, `atMost` for latency and memory. */
  target: number;
  direction: 'atLeast' | 'atMost';
  /** Why the ratio could not be measured (its value is then 0 and means nothing): shown instead of a bar. */
  notMeasured?: string;
}

const escape = (text: string): string =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** True when a bar meets its target. */
export function met(bar: Bar): boolean {
  if (bar.notMeasured !== undefined) return false;
  return bar.direction === 'atLeast' ? bar.value >= bar.target : bar.value <= bar.target;
}

/** The chart as an SVG document; `caption` goes under the title (date, Node version, machine). */
export function chart(title: string, caption: string, bars: readonly Bar[]): string {
  const labelWidth = 330;
  const plotWidth = 460;
  const rowHeight = 24;
  const headingHeight = 22;
  const top = 64;
  const scaleMax = Math.max(2, Math.ceil(Math.max(...bars.map((b) => Math.max(b.value, b.target))) * 2) / 2);
  const x = (ratio: number): number => labelWidth + (Math.min(ratio, scaleMax) / scaleMax) * plotWidth;

  const parts: string[] = [];
  let y = top;
  let group: string | undefined;
  for (const bar of bars) {
    if (bar.group !== group) {
      group = bar.group;
      y += 6;
      parts.push(`<text x="8" y="${y + 15}" class="group">${escape(group)}</text>`);
      y += headingHeight;
    }
    const colour = met(bar) ? '#2e7d32' : '#c62828';
    const sign = bar.direction === 'atLeast' ? '≥' : '≤';
    if (bar.notMeasured !== undefined) {
      parts.push(
        `<text x="${labelWidth - 8}" y="${y + 16}" class="label" text-anchor="end">${escape(bar.label)}</text>`,
        `<line x1="${x(bar.target).toFixed(1)}" x2="${x(bar.target).toFixed(1)}" y1="${y + 1}" y2="${y + rowHeight - 1}" class="target"/>`,
        `<text x="${labelWidth + 6}" y="${y + 16}" class="value">not measured: ${escape(bar.notMeasured)} (target ${sign} ${bar.target}x)</text>`,
      );
      y += rowHeight;
      continue;
    }
    parts.push(
      `<text x="${labelWidth - 8}" y="${y + 16}" class="label" text-anchor="end">${escape(bar.label)}</text>`,
      `<rect x="${labelWidth}" y="${y + 4}" width="${Math.max(1, x(bar.value) - labelWidth).toFixed(1)}" height="${rowHeight - 8}" fill="${colour}" rx="2"/>`,
      `<line x1="${x(bar.target).toFixed(1)}" x2="${x(bar.target).toFixed(1)}" y1="${y + 1}" y2="${y + rowHeight - 1}" class="target"/>`,
      `<text x="${(Math.max(x(bar.value), x(bar.target)) + 6).toFixed(1)}" y="${y + 16}" class="value">${bar.value.toFixed(2)}x (target ${sign} ${bar.target}x)</text>`,
    );
    y += rowHeight;
  }
  const height = y + 40;
  const width = labelWidth + plotWidth + 190;
  const ticks: string[] = [];
  for (let t = 0; t <= scaleMax; t += 0.5) {
    ticks.push(
      `<line x1="${x(t).toFixed(1)}" x2="${x(t).toFixed(1)}" y1="${top}" y2="${y}" class="grid"/>`,
      `<text x="${x(t).toFixed(1)}" y="${y + 16}" class="tick" text-anchor="middle">${t.toFixed(1)}x</text>`,
    );
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif">
<style>
  .title { font-size: 17px; font-weight: bold; fill: #222; }
  .caption { font-size: 12px; fill: #555; }
  .group { font-size: 13px; font-weight: bold; fill: #333; }
  .label, .value { font-size: 12px; fill: #333; }
  .tick { font-size: 11px; fill: #777; }
  .grid { stroke: #e5e5e5; stroke-width: 1; }
  .target { stroke: #111; stroke-width: 2; stroke-dasharray: 3 2; }
</style>
<rect width="100%" height="100%" fill="#fff"/>
<text x="8" y="24" class="title">${escape(title)}</text>
<text x="8" y="44" class="caption">${escape(caption)}</text>
${ticks.join('\n')}
${parts.join('\n')}
<text x="${labelWidth}" y="${height - 8}" class="caption">Ratio to the bare baseline in the same run (bars: green meets its target, red misses it; dashed line: the target).</text>
</svg>
`;
}
