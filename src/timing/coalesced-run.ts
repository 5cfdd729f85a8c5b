/**
 * A task run one at a time: a run asked for while one is under way does not start beside it but makes that
 * one go round once more when it ends (however many were asked for), so that what changed meanwhile is seen.
 */
export class CoalescedRun {
  private running: Promise<void> | undefined;
  private again = false;

  /**
   * `round` does the work once and answers true; false ends the run whatever was asked for meanwhile (it
   * failed and arranged its own retry). Once `stopped` says so, nothing more starts.
   */
  constructor(
    private readonly round: () => Promise<boolean>,
    private readonly stopped: () => boolean,
  ) {}

  /** Starts a run, or asks the one under way for another round; resolves when that run ends. */
  request(): Promise<void> {
    if (this.stopped()) return Promise.resolve();
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      let ok: boolean;
      do {
        this.again = false;
        ok = await this.round();
      } while (ok && this.rerun());
    })().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  /** The run under way, if any: closing waits for it. */
  get current(): Promise<void> | undefined {
    return this.running;
  }

  /** Whether a round was asked for meanwhile (a method: the flags change behind the await). */
  private rerun(): boolean {
    return this.again && !this.stopped();
  }
}
