import { fakeConsoleHtml } from '../status-page/status-page.js';
import { browserArgsOf, type BrowserSession, type ConsoleApp } from './console-app.js';

/** APP=fake: the labelled animated test console (Ironic's fake-graphical, our colours). */
export function fakeApp(opts: { subject?: string; readOnly: boolean }): ConsoleApp {
  return {
    browserArgs: () => browserArgsOf([]),
    async run(s: BrowserSession) {
      await s.status(null);
      await s.page.setContent(fakeConsoleHtml(opts));
    },
    close: async () => undefined,
  };
}

/** Invalid environment: stay up and show every problem, naming its variable. */
export function errorApp(cause: string, hint: string, details: string[]): ConsoleApp {
  return {
    browserArgs: () => browserArgsOf([]),
    async run(s: BrowserSession) {
      await s.fail(cause, hint, details);
    },
    close: async () => undefined,
  };
}

/** AWAIT_APP_INFO: Chromium is up, on our status page, until `bmc-console assign` brings the node. */
export function waitingApp(): ConsoleApp {
  return {
    browserArgs: () => browserArgsOf([]),
    async run(s: BrowserSession) {
      await s.status('Ready: waiting to be assigned a node', { resting: true });
    },
    close: async () => undefined,
  };
}
