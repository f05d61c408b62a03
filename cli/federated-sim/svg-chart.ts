/**
 * A small hand-written SVG line chart for benchmark curves (docs/federated-curve.svg): a few series of
 * (x, y) points on shared linear axes, with ticks, a legend and optional dashed series (reference
 * lines). No plotting library: the figure is a few dozen elements and must be diffable text.
 */

export interface ChartSeries {
  name: string;
  points: readonly (readonly [number, number])[];
  color: string;
  dashed?: boolean;
}

export interface LineChart {
  title: string;
  xLabel: string;
  yLabel: string;
  series: readonly ChartSeries[];
  width?: number;
  height?: number;
  /** y axis range; default from 0 to a rounded-up maximum of the data. */
  yMin?: number;
  yMax?: number;
}

const MARGIN = { left: 64, right: 190, top: 40, bottom: 52 };

export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** About five round tick values covering [min, max] (steps of 1, 2 or 5 × 10^n). */
export function niceTicks(min: number, max: number, target = 5): number[] {
  if (!(max > min)) return [min];
  const raw = (max - min) / target;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= raw) ?? 10 * magnitude;
  const ticks: number[] = [];
  for (let v = Math.ceil(min / step - 1e-9) * step; v <= max + step * 1e-9; v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

function format(value: number): string {
  return Number(value.toPrecision(6)).toString();
}

export function lineChartSvg(chart: LineChart): string {
  const width = chart.width ?? 760;
  const height = chart.height ?? 420;
  const all = chart.series.flatMap((s) => s.points);
  if (all.length === 0) throw new RangeError('a chart needs at least one point');
  const xs = all.map((p) => p[0]);
  const ys = all.map((p) => p[1]);
  const xMin = Math.min(...xs);
  const xMax = Math.max(...xs) > xMin ? Math.max(...xs) : xMin + 1;
  const yMin = chart.yMin ?? 0;
  const dataMax = Math.max(...ys);
  const guess = niceTicks(yMin, dataMax);
  const step = guess.length > 1 ? guess[1]! - guess[0]! : 1;
  // The first round tick at or above the data, so no curve leaves the plot.
  const yMax = chart.yMax ?? (guess.at(-1)! >= dataMax ? Math.max(guess.at(-1)!, yMin + 1e-9) : guess.at(-1)! + step);
  const plotW = width - MARGIN.left - MARGIN.right;
  const plotH = height - MARGIN.top - MARGIN.bottom;
  const px = (x: number): number => MARGIN.left + ((x - xMin) / (xMax - xMin)) * plotW;
  const py = (y: number): number => MARGIN.top + plotH - ((y - yMin) / (yMax - yMin)) * plotH;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect width="${width}" height="${height}" fill="white"/>`);
  out.push(`<text x="${width / 2}" y="22" text-anchor="middle" font-size="15">${escapeXml(chart.title)}</text>`);
  for (const t of niceTicks(yMin, yMax)) {
    const y = py(t).toFixed(1);
    out.push(`<line x1="${MARGIN.left}" x2="${MARGIN.left + plotW}" y1="${y}" y2="${y}" stroke="#e3e3e3"/>`);
    out.push(`<text x="${MARGIN.left - 6}" y="${y}" text-anchor="end" dominant-baseline="middle">${format(t)}</text>`);
  }
  for (const t of niceTicks(xMin, xMax).filter((v) => Number.isInteger(v) || xMax - xMin < 5)) {
    const x = px(t).toFixed(1);
    out.push(`<line x1="${x}" x2="${x}" y1="${MARGIN.top + plotH}" y2="${MARGIN.top + plotH + 4}" stroke="#333"/>`);
    out.push(`<text x="${x}" y="${MARGIN.top + plotH + 18}" text-anchor="middle">${format(t)}</text>`);
  }
  out.push(`<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#333"/>`);
  out.push(`<text x="${MARGIN.left + plotW / 2}" y="${height - 12}" text-anchor="middle">${escapeXml(chart.xLabel)}</text>`);
  out.push(`<text transform="translate(16 ${MARGIN.top + plotH / 2}) rotate(-90)" text-anchor="middle">${escapeXml(chart.yLabel)}</text>`);
  chart.series.forEach((s, index) => {
    const points = s.points.map(([x, y]) => `${px(x).toFixed(1)},${py(y).toFixed(1)}`).join(' ');
    const dash = s.dashed ? ' stroke-dasharray="6 4"' : '';
    out.push(`<polyline data-series="${escapeXml(s.name)}" fill="none" stroke="${escapeXml(s.color)}" stroke-width="2"${dash} points="${points}"/>`);
    const ly = MARGIN.top + 10 + index * 20;
    const lx = MARGIN.left + plotW + 14;
    out.push(`<line x1="${lx}" x2="${lx + 24}" y1="${ly}" y2="${ly}" stroke="${escapeXml(s.color)}" stroke-width="2"${dash}/>`);
    out.push(`<text x="${lx + 30}" y="${ly}" dominant-baseline="middle">${escapeXml(s.name)}</text>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
