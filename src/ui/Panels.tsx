/**
 * The panels below the feed (History, Model, Settings, Privacy), loaded as a chunk of their own after
 * the first feed: the page's first script and first render carry only what the feed needs.
 */
import type { EngineSnapshot } from '../engine/api';
import type { EngineClient } from './engine-client';
import { DataRescue, ErrorBoundary, PartFailed } from './ErrorBoundary';
import { HistoryPanel } from './HistoryPanel';
import { ModelPanel } from './ModelPanel';
import { PrivacyPanel, type PersistenceState } from './PrivacyPanel';
import { SettingsPanel } from './SettingsPanel';
// Their styles come with their chunk: the first paint's stylesheet holds only the page's and the feed's.
import './panels.css';

export interface PanelsProps {
  engine: EngineClient;
  snapshot: EngineSnapshot;
  persistence: PersistenceState;
  announce(message: string): void;
  onErased(): void;
}

export default function Panels({ engine, snapshot, persistence, announce, onErased }: PanelsProps) {
  return (
    <div className="panels">
      {/* Each panel fails alone (ErrorBoundary.tsx); the Privacy panel's data actions outlive it. */}
      <ErrorBoundary fallback={(error) => <PartFailed error={error} />}>
        <HistoryPanel engine={engine} version={snapshot.historyVersion} announce={announce} />
      </ErrorBoundary>
      <ErrorBoundary fallback={(error) => <PartFailed error={error} />}>
        <ModelPanel snapshot={snapshot} />
      </ErrorBoundary>
      <ErrorBoundary fallback={(error) => <PartFailed error={error} />}>
        <SettingsPanel engine={engine} snapshot={snapshot} announce={announce} />
      </ErrorBoundary>
      <ErrorBoundary
        fallback={(error) => (
          <PartFailed error={error}>
            <DataRescue engine={engine} onErased={onErased} />
          </PartFailed>
        )}
      >
        <PrivacyPanel
          engine={engine}
          version={snapshot.historyVersion}
          persistence={persistence}
          contribution={snapshot.contribution}
          announce={announce}
          onErased={onErased}
        />
      </ErrorBoundary>
    </div>
  );
}
