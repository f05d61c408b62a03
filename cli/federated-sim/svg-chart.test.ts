import { describe, expect, it } from 'vitest';
import { lineChartSvg, niceTicks } from './svg-chart';

describe('niceTicks', () => {
  it('covers the range with round steps', () => {
    expect(niceTicks(0, 0.37)).toEqual([0, 0.1, 0.2, 0.3]);
    expect(niceTicks(0, 15)).toEqual([0, 5, 10, 15]);
  });
});

describe('lineChartSvg', () => {
  const svg = lineChartSvg({
    title: 'A & B',
    xLabel: 'round',
    yLabel: 'NDCG@10',
    width: 400,
    height: 300,
    yMin: 0,
    yMax: 1,
    series: [
      { name: 'ε = 8 <noisy>', points: [[0, 0], [1, 0.5], [2, 1]], color: '#123456' },
      { name: 'central', points: [[0, 0.5], [2, 0.5]], color: '#000', dashed: true },
    ],
  });

  it('draws one polyline per series with its points mapped into the plot area', () => {
    const polylines = [...svg.matchAll(/<polyline data-series="([^"]*)"[^>]*points="([^"]*)"/g)];
    expect(polylines.map((m) => m[1])).toEqual(['ε = 8 &lt;noisy&gt;', 'central']);
    const points = polylines[0]![2]!.split(' ').map((p) => p.split(',').map(Number));
    expect(points).toHaveLength(3);
    // x grows left to right, y = 1 is above y = 0 (SVG y points down)
    expect(points[2]![0]!).toBeGreaterThan(points[0]![0]!);
    expect(points[2]![1]!).toBeLessThan(points[0]![1]!);
    // the midpoint (1, 0.5) sits halfway between the ends
    expect(points[1]![0]!).toBeCloseTo((points[0]![0]! + points[2]![0]!) / 2, 0);
    expect(points[1]![1]!).toBeCloseTo((points[0]![1]! + points[2]![1]!) / 2, 0);
  });

  it('escapes text and dashes reference lines', () => {
    expect(svg).toContain('A &amp; B');
    expect(svg).not.toContain('<noisy>');
    expect(svg).toMatch(/data-series="central"[^>]*stroke-dasharray/);
  });

  it('keeps every point inside the plot when the axis range comes from the data', () => {
    const auto = lineChartSvg({ title: 't', xLabel: 'x', yLabel: 'y', series: [{ name: 's', points: [[0, 0.17], [15, 0.3532]], color: '#000' }] });
    const frame = /<rect x="(\d+)" y="(\d+)" width="(\d+)" height="(\d+)" fill="none"/.exec(auto)!.slice(1).map(Number);
    const points = /points="([^"]*)"/.exec(auto)![1]!.split(' ').map((p) => p.split(',').map(Number));
    for (const [x, y] of points) {
      expect(x!).toBeGreaterThanOrEqual(frame[0]!);
      expect(y!).toBeGreaterThanOrEqual(frame[1]!);
      expect(y!).toBeLessThanOrEqual(frame[1]! + frame[3]!);
    }
  });
});
