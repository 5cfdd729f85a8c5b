import type { StandbyCounts } from '../metrics/prometheus.js';
import type { RuntimeProfile } from './launchers.js';
import { StandbyFailure, type Standby } from './standby.js';

export interface StandbyOptions {
  /** Standbys kept per profile that cold starts use; 0 keeps none. */
  size: number;
  /** A profile no cold start has used for this long loses its standbys, until one uses it again. */
  idleMs: number;
  /** Starts one standby of a profile: spawned at once, ready when its `ready` settles. */
  start: (profile: RuntimeProfile) => Promise<Standby>;
  log: (line: string) => void;
}

/** Starts of a profile that fail in a row before its cold starts stop making standbys for it. */
const FAILURES_BEFORE_GIVING_UP = 3;

interface ProfileState {
  profile: RuntimeProfile;
  /** Started and not yet taken, ready or still starting. */
  standbys: Set<Standby>;
  /** Being spawned: not yet in `standbys`. */
  spawning: number;
  failures: number;
  givenUp: boolean;
  idle: NodeJS.Timeout | undefined;
}

const keyOf = (profile: RuntimeProfile) => `${profile.runtime}/${profile.network}`;

/**
 * Standbys per runtime profile, for cold starts to take instead of starting a process of their own. A profile
 * gets standbys only once a cold start has wanted one, and loses them after `idleMs` without one; what a cold
 * start takes is replaced after it (`refill`), in the background. Nothing here runs while nothing starts: no
 * timer but one per profile, reset by each take, and standbys block reading their channel.
 */
export class StandbyPool {
  private readonly profiles = new Map<string, ProfileState>();
  /** Every standby until its process is gone, whoever holds it. */
  private readonly everyone = new Set<Standby>();
  private readonly spawns = new Set<Promise<void>>();
  private closed = false;

  constructor(private readonly options: StandbyOptions) {}

  /** A ready standby of `profile`, for one cold start to specialise; undefined when none is ready. */
  take(profile: RuntimeProfile): Standby | undefined {
    if (this.closed || this.options.size === 0) return undefined;
    const state = this.stateOf(profile);
    this.touch(state);
    for (const standby of state.standbys) {
      if (!standby.reserve()) continue;
      state.standbys.delete(standby);
      return standby;
    }
    return undefined;
  }

  /** Starts standbys of `profile` up to the pool's size, after a cold start of it: in the background. */
  refill(profile: RuntimeProfile): void {
    if (this.closed || this.options.size === 0) return;
    const state = this.stateOf(profile);
    if (state.givenUp) return;
    for (let n = state.standbys.size + state.spawning; n < this.options.size; n++) {
      state.spawning++;
      const spawn = this.spawn(state).finally(() => this.spawns.delete(spawn));
      this.spawns.add(spawn);
    }
  }

  private async spawn(state: ProfileState): Promise<void> {
    let standby: Standby;
    try {
      standby = await this.options.start(state.profile);
    } catch (error) {
      this.failed(state, error);
      return;
    } finally {
      state.spawning--;
    }
    this.everyone.add(standby);
    void standby.gone.then(() => {
      this.everyone.delete(standby);
      state.standbys.delete(standby);
    });
    if (this.closed || this.profiles.get(keyOf(state.profile)) !== state) {
      standby.kill();
      return;
    }
    state.standbys.add(standby);
    standby.ready.then(
      () => {
        state.failures = 0;
      },
      (error: unknown) => {
        state.standbys.delete(standby);
        this.failed(state, error);
      },
    );
  }

  private failed(state: ProfileState, error: unknown): void {
    const { runtime, network } = state.profile;
    state.failures++;
    this.options.log(
      `warning: a standby of ${runtime} (network ${network}) did not start: ${(error as Error).message}`,
    );
    if (state.givenUp) return;
    if ((error instanceof StandbyFailure && error.lasting) || state.failures >= FAILURES_BEFORE_GIVING_UP) {
      state.givenUp = true;
      this.options.log(
        `warning: no more standbys of ${runtime} (network ${network}): its cold starts start processes of their own`,
      );
    }
  }

  private stateOf(profile: RuntimeProfile): ProfileState {
    const key = keyOf(profile);
    let state = this.profiles.get(key);
    if (!state) {
      state = { profile, standbys: new Set(), spawning: 0, failures: 0, givenUp: false, idle: undefined };
      this.profiles.set(key, state);
    }
    return state;
  }

  /** A profile that no cold start takes from for `idleMs` stops keeping standbys. */
  private touch(state: ProfileState): void {
    clearTimeout(state.idle);
    state.idle = setTimeout(() => {
      this.profiles.delete(keyOf(state.profile));
      for (const standby of state.standbys) standby.kill();
      state.standbys.clear();
    }, this.options.idleMs);
    state.idle.unref();
  }

  /** Standbys per profile, ready and starting, for metrics. */
  stats(): StandbyCounts[] {
    return [...this.profiles.values()].map(({ profile, standbys, spawning }) => {
      const ready = [...standbys].filter((s) => s.isReady).length;
      return { ...profile, ready, starting: standbys.size - ready + spawning };
    });
  }

  /** Ends every standby no instance holds, and waits until every standby's process is gone. */
  async close(): Promise<void> {
    this.closed = true;
    for (const state of this.profiles.values()) clearTimeout(state.idle);
    await Promise.all(this.spawns);
    for (const standby of this.everyone) standby.kill();
    await Promise.all([...this.everyone].map((s) => s.gone));
  }
}
