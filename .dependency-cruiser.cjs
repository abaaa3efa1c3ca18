// Import rules for the workspace packages, checked by `depcruise` in scripts/lint.sh.
//
// | package          | may import (workspace)      | why                                                                  |
// |------------------|-----------------------------|----------------------------------------------------------------------|
// | common           | none                        | everyone builds on it, so it must not build on anyone                |
// | bmc-emulator     | common                      | it stands in for a BMC and must not know the console that drives it  |
// | image            | common, bmc-emulator        | `bmc-console try` embeds the emulator                                |
// | host-agent       | common                      | it reaches the image and the proxy through contracts in common only  |
// | proxy            | common                      | it reaches the agent through the contracts in common only            |
// | tests, bench     | all                         | they exercise the whole system                                       |
// | a package's test/| what its package.json declares (devDependencies too) | a test may drive a real agent or emulator  |
// | vendor scripts   | ./lib, VENDOR_SCRIPT_API, common | a script sees the vendor-script API, not the supervisor      |
//
// The table binds shipped code (src/, vendor-scripts/); a package's own tests may also use the packages its
// devDependencies declare (the proxy's tests start a real agent, the agent's a real emulator).
// Packages import each other by package name (never by a relative path), declare what they import in their own
// package.json, keep devDependencies out of shipped code and have no import cycles.
//
// Workspace packages are resolved through their node_modules symlinks (preserveSymlinks) so that an import of
// `@bmc-console/common` counts as a package import and is checked against the importer's package.json.

const PACKAGES = '(common|image|host-agent|proxy|bmc-emulator|tests|bench)';
const WORKSPACE_IMPORT = '^node_modules/(@bmc-console/[^/]+|bmc-console)/';
const workspace = (...names) =>
  names.map((n) => `^node_modules/${n === 'image' ? 'bmc-console' : `@bmc-console/${n}`}/`);

// The image's public pieces for vendor scripts: the vendor-script API and the failure a script throws.
const VENDOR_SCRIPT_API = ['^image/src/vendor-script[.]ts$', '^image/src/console-failure[.]ts$'];

/** A rule that keeps package `name`'s shipped code to the workspace packages in `allowed`. */
const layer = (name, allowed, comment) => ({
  name: `layer-${name}`,
  severity: 'error',
  comment,
  from: { path: `^${name}/(src|vendor-scripts)/` },
  to: { path: WORKSPACE_IMPORT, pathNot: workspace(name, ...allowed) },
});

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    layer('common', [], 'common imports no workspace package: every other package builds on it.'),
    layer('bmc-emulator', ['common'], 'bmc-emulator imports common only: it must not know the console that drives it.'),
    layer(
      'image',
      ['common', 'bmc-emulator'],
      'image imports common and bmc-emulator (the try command embeds it) only.',
    ),
    layer('host-agent', ['common'], 'host-agent imports common only: it reaches the other programs through contracts.'),
    layer('proxy', ['common'], 'proxy imports common only: it reaches the agent through contracts.'),
    {
      name: 'vendor-script-api',
      severity: 'error',
      comment:
        "A vendor script imports ./lib/*, the image's public pieces (VENDOR_SCRIPT_API), common and npm packages image " +
        'declares (Playwright) only; index.ts lists the scripts.',
      from: { path: '^image/vendor-scripts/[^/]+[.]ts$', pathNot: '^image/vendor-scripts/index[.]ts$' },
      to: {
        path: ['^image/', WORKSPACE_IMPORT],
        pathNot: ['^image/vendor-scripts/lib/', ...VENDOR_SCRIPT_API, ...workspace('common')],
      },
    },
    {
      name: 'no-relative-cross-package',
      severity: 'error',
      comment: 'Another package is imported by its package name, so that its package.json and exports apply.',
      from: { path: `^${PACKAGES}/` },
      to: { path: `^${PACKAGES}/`, pathNot: '^$1/' },
    },
    {
      name: 'no-circular',
      severity: 'error',
      comment:
        'Import cycles make load order matter and hide which module owns what. A cycle closed only by type imports ' +
        '(a page names its context type, a frame its page type) has no load order and is allowed.',
      from: {},
      to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } },
    },
    // A package may import itself by name (image's tests do, as bmc-console/...).
    {
      name: 'no-non-package-json',
      severity: 'error',
      comment: "The importing package's own package.json must declare the package (hoisting is not a declaration).",
      from: { path: '^(common|host-agent|proxy|bmc-emulator|tests|bench)/' },
      to: { dependencyTypes: ['npm-no-pkg', 'npm-unknown'], pathNot: '^node_modules/@bmc-console/$1/' },
    },
    {
      name: 'no-non-package-json-image',
      severity: 'error',
      comment: "The importing package's own package.json must declare the package (hoisting is not a declaration).",
      from: { path: '^image/' },
      to: { dependencyTypes: ['npm-no-pkg', 'npm-unknown'], pathNot: workspace('image') },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      comment: 'The import does not resolve: a missing package, file or exports entry.',
      from: {},
      // kubernetes-types ships declarations only (core/v1.d.ts for core/v1.js); tsc resolves it.
      to: { couldNotResolve: true, pathNot: '^kubernetes-types/' },
    },
    {
      name: 'not-to-dev-dep',
      severity: 'error',
      comment:
        'Shipped code (src/, vendor scripts) imports dependencies only: devDependencies are not installed with it.',
      from: { path: '^(common|image|host-agent|proxy|bmc-emulator)/(src|vendor-scripts)/' },
      to: { dependencyTypes: ['npm-dev'], dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'not-to-test',
      severity: 'error',
      comment: 'Shipped code never imports test code.',
      from: { path: '^(common|image|host-agent|proxy|bmc-emulator)/(src|vendor-scripts)/' },
      to: { path: '^[^/]+/test/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)(dist|static)/' },
    preserveSymlinks: true,
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['source', 'import', 'types', 'node', 'default'],
      extensions: ['.ts', '.mjs', '.js', '.json'],
      mainFields: ['module', 'main', 'types'],
    },
    skipAnalysisNotInRules: true,
  },
};
