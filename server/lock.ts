/**
 * One operation at a time on the round's state: registrations, uploads, phase changes and the
 * deadline timer all run through this queue, so "every device answered" and "the deadline passed"
 * can never both close a phase, and a device's message is never stored in a phase that just closed.
 */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(work: () => Promise<T>): Promise<T> {
    const result = this.tail.then(work, work);
    this.tail = result.catch(() => undefined);
    return result;
  }
}
