/** Encoder ids, kept apart from the encoders so the worker's first chunk does not pull in TF.js. */
export const USE_LITE_ID = 'use-lite-512';
