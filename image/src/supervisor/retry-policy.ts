/**
 * When the Redfish app tries a BMC again after a failure. A login can fail again (and BMCs lock accounts after a
 * few wrong passwords), so anything past the network backs off slowly; a BMC that did not answer costs nothing to
 * try again, so while a viewer watches it is tried every few seconds and the KVM is back soon after the BMC is.
 * Nobody watching: no hurry (the first viewer to arrive cuts the wait short, which the app does, not this).
 */
import type { FailureKind } from '../vendor-script.js';
import { Backoff, type BackoffOptions } from './backoff.js';

export interface RetryPacing {
  afterLoginFailure: BackoffOptions;
  afterUnreachable: BackoffOptions;
  /** The shortest wait while no viewer watches. */
  unwatchedMinMs: number;
}

export const RETRY_AFTER_LOGIN_FAILURE: BackoffOptions = {
  initialMs: 10_000,
  maxMs: 120_000,
  factor: 2,
  resetAfterMs: 600_000,
};
export const RETRY_AFTER_UNREACHABLE: BackoffOptions = {
  initialMs: 2_000,
  maxMs: 15_000,
  factor: 2,
  resetAfterMs: 600_000,
};
export const RETRY_UNWATCHED_MIN_MS = 60_000;

export const DEFAULT_RETRY_PACING: RetryPacing = {
  afterLoginFailure: RETRY_AFTER_LOGIN_FAILURE,
  afterUnreachable: RETRY_AFTER_UNREACHABLE,
  unwatchedMinMs: RETRY_UNWATCHED_MIN_MS,
};

export interface RetryDecision {
  delayMs: number;
  /** Consecutive failures of this kind's pacing, this one included. */
  tries: number;
}

export class RetryPolicy {
  private readonly login: Backoff;
  private readonly unreachable: Backoff;

  constructor(private readonly pacing: RetryPacing = DEFAULT_RETRY_PACING) {
    this.login = new Backoff(pacing.afterLoginFailure);
    this.unreachable = new Backoff(pacing.afterUnreachable);
  }

  /** A try begins: a try that then lasts past the reset time starts the next failure's pacing afresh. */
  attempt(now: number): void {
    this.login.started(now);
    this.unreachable.started(now);
  }

  /** The wait before the next try after a failure of `kind`; `watched`: a viewer is connected. */
  afterFailure(kind: FailureKind, watched: boolean, now: number): RetryDecision {
    const backoff = kind === 'unreachable' ? this.unreachable : this.login;
    const delay = backoff.nextDelay(now);
    return {
      delayMs: watched ? delay : Math.max(this.pacing.unwatchedMinMs, delay),
      tries: backoff.consecutiveFailures,
    };
  }
}
