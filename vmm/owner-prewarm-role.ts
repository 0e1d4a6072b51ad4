// The workerData role of a device owner started early (owner-prewarm.ts), in a file of its own so
// the worker's entry does not load the module that starts workers.

export const PREWARM_ROLE = 'owner-prewarm';
/** What such a worker posts once its code is loaded (or failed to load): ending it is safe from then on. */
export const PREWARMED_MESSAGE = 'prewarmed';
