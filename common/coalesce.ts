/**
 * @module One run at a time of an async job that many places ask for (re-reading a source after each of
 * a burst of events): a request while a run is in flight queues exactly one more run, however many
 * requests came meanwhile; it starts when the current run ends, so it sees everything that changed
 * before the last request.
 */

export class Coalesced {
  readonly #job: () => Promise<void>;
  readonly #onError: (err: unknown) => void;
  #running: Promise<void> | undefined;
  #again = false;

  /** `onError` gets what a run of `job` threw; the next request runs the job again as usual. */
  constructor(job: () => Promise<void>, onError: (err: unknown) => void) {
    this.#job = job;
    this.#onError = onError;
  }

  /** Runs the job now, or once more after the run in flight. */
  request(): void {
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#running = this.#job()
      .catch(this.#onError)
      .finally(() => {
        this.#running = undefined;
        if (this.#again) {
          this.#again = false;
          this.request();
        }
      });
  }

  /** Resolves once no run is in flight or queued. */
  async idle(): Promise<void> {
    while (this.#running) await this.#running;
  }
}
