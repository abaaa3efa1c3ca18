/**
 * Any other BMC: its web UI's start page full screen, with a notice that automatic login is not supported
 * for this vendor (the person logs in and opens the console by hand). Matches everything; registered last.
 */
import type { VendorScript } from '../src/vendor-script.js';
import { showNotice } from './lib/fullscreen.js';
import { redfishLogout } from './lib/redfish.js';
import { blank, goto } from './lib/web.js';

export const generic: VendorScript = {
  family: 'generic',
  displayName: 'BMC web interface',
  matches: () => true,

  async open(ctx) {
    const d = ctx.discovery;
    const what = d.family !== 'unknown' ? d.family : d.vendor !== 'unknown' ? d.vendor : 'this';
    await ctx.status('Opening the BMC web interface');
    await goto(ctx, '/', 'Opening the BMC web interface');
    await showNotice(
      ctx,
      `Automatic login is not supported for ${what} BMCs: log in and open the remote console here.`,
    );
    await ctx.status('BMC web interface shown (log in by hand)');
  },

  async isAlive(ctx) {
    // The person drives this page; only a crashed or closed page is "lost".
    return !ctx.page.isClosed() && ctx.page.url() !== 'about:blank';
  },

  async close(ctx) {
    await blank(ctx);
    await redfishLogout(ctx);
  },
};
