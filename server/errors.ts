/** A request the service refuses: the HTTP status, a message for people, and what it concerned (for the refusal log). */
export class Refusal extends Error {
  override name = 'Refusal';
  constructor(
    readonly status: 400 | 401 | 403 | 404 | 405 | 409 | 410 | 413 | 415,
    message: string,
    readonly roundId: string | null = null,
    readonly deviceIndex: number | null = null,
  ) {
    super(message);
  }
}

/** A 404 for something that does not exist yet (no published model): answered like a refusal, not logged as one. */
export class NotYet extends Refusal {
  override name = 'NotYet';
  constructor(message: string) {
    super(404, message);
  }
}
