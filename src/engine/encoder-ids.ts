/** Encoder ids, kept apart from the encoders so the worker's first chunk does not pull in TF.js. */
export { USE_LITE_ID } from '../core/encoder-registry';
/**
 * "Because you liked X" in the profile ranker needs X this close. Measured on goodbooks-10k's encoder
 * texts (title, author, genres, shelves): any two books sit at cosine 0.69 (median), 0.79 (p90), 0.86
 * (p99); volumes of one series at 0.87 and above (p10). Below it, the card names the shared genre or taste.
 */
export const USE_LITE_EXPLAIN_THRESHOLD = 0.86;
