import { useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { ModelUpdatePlan } from '../engine/api';
import type { EngineClient } from './engine-client';
import { formatBytes, formatDecimal, formatNumber, saveFile } from './format';
import { i18n } from './i18n';

/** MAX_FILE_BYTES of core/federated/format.ts, not imported: that module (and zod) stays out of this chunk. */
const MAX_MODEL_FILE_BYTES = 256 * 1024 * 1024;

/** Plain words for each shared parameter: what the file reveals about, and what it does not. */
function describeParameter(name: string, shape: readonly number[]): string {
  const count = formatNumber(shape.reduce((a, b) => a * b, 1));
  if (name === 'W') return i18n.t('update.paramW', { count });
  if (name === 'q') return i18n.t('update.paramQ', { count });
  if (name === 'b') return i18n.t('update.paramB', { count });
  if (name.startsWith('ranker')) return i18n.t('update.paramRanker', { count });
  return i18n.t('update.paramOther', { name, count });
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
  const { t } = useTranslation();
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
      announce(t('update.saved', { epsilon: formatDecimal(epsilonSpent, 2) }));
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
      // Refused by its size before it is read into memory (the engine refuses it too: core/federated/format.ts).
      if (file.size > MAX_MODEL_FILE_BYTES)
        throw new Error(`the file is ${formatBytes(file.size)}; a model file is never larger than ${formatBytes(MAX_MODEL_FILE_BYTES)}`);
      const result = await engine.importGlobalModel(new Uint8Array(await file.arrayBuffer()), file.name);
      announce(
        result.contributors
          ? t('update.importedFrom', { file: file.name, contributors: formatNumber(result.contributors) })
          : t('update.imported', { file: file.name }),
      );
    } catch (reason) {
      setError(t('update.nothingChanged', { message: reason instanceof Error ? reason.message : String(reason) }));
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="model-update">
      <h3>{t('update.heading')}</h3>
      <p>{t('update.intro')}</p>
      <div className="panel-controls">
        <button type="button" onClick={() => void openConsent()} disabled={busy}>
          {t('update.export')}
        </button>
        <button type="button" onClick={() => fileInput.current?.click()} disabled={busy}>
          {t('update.import')}
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
        <h3 id="update-title">{t('update.dialogTitle')}</h3>
        {plan && (
          <div id="update-description">
            {plan.ready ? (
              <>
                <p>{t('update.contains', { size: formatBytes(plan.sizeBytes) })}</p>
                <ul>
                  {plan.contents.map((c) => (
                    <li key={c.name}>{describeParameter(c.name, c.shape)}</li>
                  ))}
                </ul>
                <p>{t('update.never', { clip: String(plan.clipNorm), sigma: String(plan.noiseMultiplier) })}</p>
                <p className="privacy-budget">
                  {t('update.guarantee', {
                    after: formatDecimal(plan.epsilonAfter, 2),
                    delta: plan.delta.toExponential(0),
                    spent: formatDecimal(plan.epsilonSpent, 2),
                    budget: String(plan.epsilonBudget),
                  })}{' '}
                  {plan.allowed ? t('update.left', { count: plan.exportsLeftAfter }) : t('update.overBudget')}
                </p>
              </>
            ) : (
              <p lang="en">{plan.reason}</p>
            )}
          </div>
        )}
        <div className="dialog-actions">
          <button type="button" onClick={() => dialog.current?.close()} autoFocus>
            {t('update.cancel')}
          </button>
          <button type="button" onClick={() => void exportUpdate()} disabled={!plan?.ready || !plan.allowed || busy}>
            {t('update.save')}
          </button>
        </div>
      </dialog>
    </div>
  );
}
