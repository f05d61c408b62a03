import { useTranslation } from 'react-i18next';
import type { EngineSnapshot } from '../engine/api';
import { formatNumber } from './format';
import { i18n } from './i18n';
import { memoOnSnapshotFields } from './snapshot-memo';
import { useTimeLeft } from './useTimeLeft';

/** The engine's status sentences (English, from the worker) that the interface says in its own words. */
const KNOWN_ACTIVITIES = {
  'Starting…': 'activity.starting',
  'Loading the catalog…': 'activity.loadingCatalog',
  'Opening your history…': 'activity.openingHistory',
  'Starting the compute backend…': 'activity.startingBackend',
  'Waiting for another tab of this app to close or reload…': 'activity.waitingForTab',
  'Restoring your model: reading the catalog first…': 'activity.restoringModel',
} as const;

/** What the engine is doing, in the interface's language when it is a known sentence, else as the engine said it. */
export function activityText(activity: string): { text: string; translated: boolean } {
  const key = Object.hasOwn(KNOWN_ACTIVITIES, activity) ? KNOWN_ACTIVITIES[activity as keyof typeof KNOWN_ACTIVITIES] : undefined;
  return key ? { text: i18n.t(key), translated: true } : { text: activity, translated: false };
}

/** The compute backend in use, what the engine is doing, and embedding progress. */
export const StatusBar = memoOnSnapshotFields(
  function StatusBar({ snapshot }: { snapshot: EngineSnapshot }) {
    const { t } = useTranslation();
    const { backend, embedding, activity } = snapshot;
    const timeLeft = useTimeLeft(embedding?.active ? embedding : undefined);
    const doing = activityText(activity ?? 'Starting…');
    return (
      <div className="status-bar">
        <p role="status" className="backend-status">
          {backend ? t('status.runningOn', { backend: backend.label }) : <span lang={doing.translated ? undefined : 'en'}>{doing.text}</span>}
        </p>
        {/* Work after the backend is up (restoring an imported model): a status line of its own, so the backend's stays as it reads. */}
        {backend && activity && (
          <p role="status" className="activity-status">
            <span lang={doing.translated ? undefined : 'en'}>{doing.text}</span>
          </p>
        )}
        {backend && backend.skipped.length > 0 && (
          <details className="backend-details">
            <summary>{t('status.whyBackend', { backend: backend.label })}</summary>
            <ul>
              {backend.skipped.map((s) => (
                <li key={s.name}>
                  {s.name}: <span lang="en">{s.reason}</span>
                </li>
              ))}
            </ul>
          </details>
        )}
        {embedding?.active && (
          <div className="embedding-progress">
            <label htmlFor="embedding-progress">
              {t('status.readingCatalog', { done: formatNumber(embedding.done), total: formatNumber(embedding.total) })}
            </label>
            <progress id="embedding-progress" max={embedding.total} value={embedding.done} />
            {timeLeft && <span className="embedding-time-left">{timeLeft}</span>}
          </div>
        )}
      </div>
    );
  },
  ['backend', 'embedding', 'activity'],
);
