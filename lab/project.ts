// The bootgate repository root (the nearest ancestor holding fixtures/manifest.json, from source
// and from dist/ alike). The lab shares it writable by default, so reports written inside the lab
// land on the host under reports/out/.

export { repoRoot as projectRoot } from '../fixtures/fixtures.js';
