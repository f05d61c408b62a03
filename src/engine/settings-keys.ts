/**
 * The keys the engine writes in the settings store, in one place (engine/contribute.ts keeps its consent
 * and rounds records beside the code that owns them).
 */

/** The user's choice of text model. */
export const SETTING_ENCODER_ID = 'encoder.id';
/** What the stored model belongs to (its id names the text model) and the catalog it was trained on. */
export const SETTING_MODEL_ID = 'model.id';
export const SETTING_FINGERPRINT = 'model.catalogFingerprint';
/** The fine-tunes' loss curve, for the Model panel. */
export const SETTING_LOSSES = 'model.losses';
/** Where the shared parameters came from (the shipped global model, an import, or this device). */
export const SETTING_GLOBAL_SOURCE = 'model.globalSource';
/** The noise multipliers of every model update exported, for the privacy accountant. */
export const SETTING_EXPORT_SIGMAS = 'federated.exportNoiseMultipliers';

/** The settings that describe the stored model: they belong to its weights (an import takes both or neither). */
export const MODEL_SETTINGS: readonly string[] = [SETTING_MODEL_ID, SETTING_FINGERPRINT, SETTING_LOSSES, SETTING_GLOBAL_SOURCE];
