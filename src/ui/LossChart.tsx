/** A small SVG line chart of training loss per epoch, with a text summary for screen readers. */
import { useTranslation } from 'react-i18next';
import { formatDecimal } from './format';

interface LossChartProps {
  losses: readonly number[];
  width?: number;
  height?: number;
}

const PAD = { left: 44, right: 8, top: 8, bottom: 24 };

export function LossChart({ losses, width = 360, height = 160 }: LossChartProps) {
  const { t } = useTranslation();
  const finite = losses.filter(Number.isFinite);
  if (finite.length === 0) return <p>{t('model.noTraining')}</p>;
  const low = Math.min(...finite);
  const high = Math.max(...finite);
  const span = high - low || 1;
  const innerWidth = width - PAD.left - PAD.right;
  const innerHeight = height - PAD.top - PAD.bottom;
  const x = (i: number) => PAD.left + (finite.length === 1 ? innerWidth / 2 : (i / (finite.length - 1)) * innerWidth);
  const y = (value: number) => PAD.top + (1 - (value - low) / span) * innerHeight;
  const path = finite.map((value, i) => `${i === 0 ? 'M' : 'L'}${x(i).toFixed(1)},${y(value).toFixed(1)}`).join(' ');
  const summary = t('model.lossSummary', { count: finite.length, first: formatDecimal(finite[0]!, 3), last: formatDecimal(finite[finite.length - 1]!, 3) });
  return (
    <figure className="loss-chart">
      <svg role="img" aria-label={summary} viewBox={`0 0 ${width} ${height}`} width={width} height={height}>
        <line x1={PAD.left} y1={PAD.top} x2={PAD.left} y2={height - PAD.bottom} className="axis" />
        <line x1={PAD.left} y1={height - PAD.bottom} x2={width - PAD.right} y2={height - PAD.bottom} className="axis" />
        <text x={PAD.left - 4} y={PAD.top + 8} textAnchor="end" className="tick">
          {formatDecimal(high, 2)}
        </text>
        <text x={PAD.left - 4} y={height - PAD.bottom} textAnchor="end" className="tick">
          {formatDecimal(low, 2)}
        </text>
        <text x={width - PAD.right} y={height - 6} textAnchor="end" className="tick">
          {t('model.epochTick', { count: finite.length })}
        </text>
        <path d={path} className="line" />
        {finite.map((value, i) => (
          <circle key={i} cx={x(i)} cy={y(value)} r={2.5} className="point" />
        ))}
      </svg>
      <figcaption>{summary}</figcaption>
    </figure>
  );
}
