// The workerData role of a device owner started early (owner-prewarm.ts), in a file of its own so
// the worker's entry does not load the module that starts workers.

export const PREWARM_ROLE = 'owner-prewarm';
