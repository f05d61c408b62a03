import { useRef } from 'react';
import type { EngineSnapshot } from '../engine/api';
import { timeLeftText, type ProgressSample } from './format';
import { memoOnSnapshotFields } from './snapshot-memo';

/** The compute backend in use, what the engine is doing, and embedding progress. */
export const StatusBar = memoOnSnapshotFields(function StatusBar({ snapshot }: { snapshot: EngineSnapshot }) {
  const { backend, embedding, activity } = snapshot;
  // Where the reading stood when this page first saw it: the time left is estimated from the rate since.
  const since = useRef<ProgressSample & { total: number }>(undefined);
  let timeLeft: string | undefined;
  if (embedding?.active) {
    const now = { at: performance.now(), done: embedding.done };
    const start = since.current;
    if (!start || start.total !== embedding.total || start.done > now.done) since.current = { ...now, total: embedding.total };
    else timeLeft = timeLeftText(start, now, embedding.total);
  } else since.current = undefined;
  return (
    <div className="status-bar">
      <p role="status" className="backend-status">
        {backend ? `Running on ${backend.label}` : (activity ?? 'Starting…')}
      </p>
      {backend && backend.skipped.length > 0 && (
        <details className="backend-details">
          <summary>Why {backend.label}?</summary>
          <ul>
            {backend.skipped.map((s) => (
              <li key={s.name}>
                {s.name}: {s.reason}
              </li>
            ))}
          </ul>
        </details>
      )}
      {embedding?.active && (
        <div className="embedding-progress">
          <label htmlFor="embedding-progress">
            Reading the catalog with the text model: {embedding.done.toLocaleString()} of{' '}
            {embedding.total.toLocaleString()} books
          </label>
          <progress id="embedding-progress" max={embedding.total} value={embedding.done} />
          {timeLeft && <span className="embedding-time-left">{timeLeft}</span>}
        </div>
      )}
    </div>
  );
}, ['backend', 'embedding', 'activity']);
