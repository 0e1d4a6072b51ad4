// The reporter vitest.config.ts lists (`reporters: ['default', './reports/index.ts']`), and the
// pieces for scripts that render a summary themselves.

export { ALWAYS_OUTPUT_ENV, type BootgateJunitOptions, BootgateJunitReporter, DEFAULT_OUTPUT_DIR } from './junit-reporter.js';
export { currentSummaryContext, renderSummary, type SummaryContext, type SummaryRow } from './summary.js';
export { BootgateJunitReporter as default } from './junit-reporter.js';
