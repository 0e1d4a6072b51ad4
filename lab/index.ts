// The nested lab's public surface for the CLI, the harness, the conformance runner and the
// benchmark. Everything else in lab/ is an implementation detail.

export { hostKvmCapability, type KvmCapability, type KvmModule } from './capability.js';
export { measureLabFirstOutput } from './first-output.js';
export { labKernel, labFixtureNames } from './kernel.js';
export { qemuBinary, qemuVersion } from './qemu.js';
export { LAB_DEFAULTS, type LabResult, type LabRunOptions, type LabStream, prepareLab, runInLab } from './run.js';
export {
  inLab,
  LAB_ENV,
  LAB_SUFFIX,
  labAdvice,
  labInnerTarget,
  labUnavailable,
  reportedTargetName,
} from './target.js';
