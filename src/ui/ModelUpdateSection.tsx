import { useRef, useState } from 'react';
import type { ModelUpdatePlan } from '../engine/api';
import type { EngineClient } from './engine-client';
import { formatBytes, saveFile } from './format';

/** Plain words for each shared parameter: what the file reveals about, and what it does not. */
function describeParameter(name: string, shape: readonly number[]): string {
  const count = shape.reduce((a, b) => a * b, 1).toLocaleString();
  if (name === 'W') return `how book descriptions map to tastes (${count} numbers, the same size for everyone)`;
  if (name === 'q') return `a correction per book in the catalog (${count} numbers: every book, whether you touched it or not)`;
  if (name === 'b') return `a popularity adjustment per book (${count} numbers, every book)`;
  if (name.startsWith('ranker')) return `the ranking weights (${count} numbers)`;
  return `${name} (${count} numbers)`;
}

interface ModelUpdateSectionProps {
  engine: EngineClient;
  announce(message: string): void;
}

/**
 * "Export model update" (with its consent dialog) and "Import model update". Nothing is uploaded:
 * the user gets a file, and chooses what to do with it.
 */
export function ModelUpdateSection({ engine, announce }: ModelUpdateSectionProps) {
  const [plan, setPlan] = useState<ModelUpdatePlan | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const dialog = useRef<HTMLDialogElement>(null);
  const fileInput = useRef<HTMLInputElement>(null);

  const openConsent = async () => {
    setError(undefined);
    try {
      setPlan(await engine.planModelUpdate());
      dialog.current?.showModal();
    } catch (reason) {
      setError(reason instanceof Error ? reason.message : String(reason));
    }
  };

  const exportUpdate = async () => {
    setBusy(true);
    try {
      const { bytes, epsilonSpent } = await engine.exportModelUpdate();
      saveFile(new Blob([bytes], { type: 'application/octet-stream' }), 'private-recs-model-update', 'prfed');
      announce(`Model update saved to a file. Privacy spent so far: ε = ${epsilonSpent.toFixed(2)}.`);
    } catch (reason) {
      setError(reason instanceof Error ? reason.message : String(reason));
    } finally {
      setBusy(false);
      dialog.current?.close();
    }
  };

  const importModel = async (file: File) => {
    setError(undefined);
    setBusy(true);
    try {
      const result = await engine.importGlobalModel(new Uint8Array(await file.arrayBuffer()), file.name);
      announce(
        `The shared model from “${file.name}” is in use${result.contributors ? ` (built from ${result.contributors} updates)` : ''}. Your history and personal taste were kept.`,
      );
    } catch (reason) {
      setError(`${reason instanceof Error ? reason.message : String(reason)}. Nothing was changed.`);
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="model-update">
      <h3>Help improve the shared model (optional)</h3>
      <p>
        You can save a file with a noisy summary of how your device adjusted the shared model. It never holds your
        history, your searches or your personal taste vector, and the app never sends it anywhere: you decide what to do with it.
      </p>
      <div className="panel-controls">
        <button type="button" onClick={() => void openConsent()} disabled={busy}>
          Export model update
        </button>
        <button type="button" onClick={() => fileInput.current?.click()} disabled={busy}>
          Import model update
        </button>
        <input
          ref={fileInput}
          type="file"
          accept=".prfed,application/octet-stream"
          hidden
          aria-hidden="true"
          tabIndex={-1}
          onChange={(event) => {
            const file = event.target.files?.[0];
            event.target.value = '';
            if (file) void importModel(file);
          }}
        />
      </div>
      {error && (
        <p role="alert" className="error-text">
          {error}
        </p>
      )}
      <dialog ref={dialog} aria-labelledby="update-title" aria-describedby="update-description">
        <h3 id="update-title">Export a model update?</h3>
        {plan && (
          <div id="update-description">
            {plan.ready ? (
              <>
                <p>The file ({formatBytes(plan.sizeBytes)}) contains only changes to the shared model:</p>
                <ul>
                  {plan.contents.map((c) => (
                    <li key={c.name}>{describeParameter(c.name, c.shape)}</li>
                  ))}
                </ul>
                <p>
                  Never included: your history, your searches, your personal taste vector. The changes are clipped to size{' '}
                  {plan.clipNorm} and random noise (σ = {plan.noiseMultiplier}) is added to every number, so the file cannot
                  tell which books you read.
                </p>
                <p className="privacy-budget">
                  Privacy guarantee: ε = {plan.epsilonAfter.toFixed(2)} at δ = {plan.delta.toExponential(0)} over all your exports
                  including this one (so far: ε = {plan.epsilonSpent.toFixed(2)}; your budget: ε = {plan.epsilonBudget}).{' '}
                  {plan.allowed
                    ? `After this one, ${plan.exportsLeftAfter} more ${plan.exportsLeftAfter === 1 ? 'export fits' : 'exports fit'} in the budget.`
                    : 'This export would exceed your budget, so it is not allowed.'}
                </p>
              </>
            ) : (
              <p>{plan.reason}</p>
            )}
          </div>
        )}
        <div className="dialog-actions">
          <button type="button" onClick={() => dialog.current?.close()} autoFocus>
            Cancel
          </button>
          <button type="button" onClick={() => void exportUpdate()} disabled={!plan?.ready || !plan.allowed || busy}>
            Save update file
          </button>
        </div>
      </dialog>
    </div>
  );
}
