import type { EngineSnapshot } from '../engine/api';
import { memoOnSnapshotFields } from './snapshot-memo';
import { useTimeLeft } from './useTimeLeft';

/** The compute backend in use, what the engine is doing, and embedding progress. */
export const StatusBar = memoOnSnapshotFields(function StatusBar({ snapshot }: { snapshot: EngineSnapshot }) {
  const { backend, embedding, activity } = snapshot;
  const timeLeft = useTimeLeft(embedding?.active ? embedding : undefined);
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
