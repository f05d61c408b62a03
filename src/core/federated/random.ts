/** Moved to core/random.ts (it serves more than federated learning); kept for importers not yet updated. */
export * from '../random';
