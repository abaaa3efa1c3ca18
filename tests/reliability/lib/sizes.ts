/** How big a run is: the default fits CI's time; REL_FULL=1 (`--full`) uses the full numbers. */
export const FULL = /^(1|true|yes)$/i.test(process.env.REL_FULL ?? '');

export const SIZES = FULL
  ? { badTokens: 100_000, loadConsoles: 20, loadViewers: 200, loadSeconds: 60, slowloris: 200 }
  : { badTokens: 10_000, loadConsoles: 5, loadViewers: 50, loadSeconds: 20, slowloris: 50 };
