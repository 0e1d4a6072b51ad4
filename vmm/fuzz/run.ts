// Runs the fuzzer: one op sequence against a fresh machine (runSequence), and a device model for
// a number of ops under fast-check (fuzzModel), which shrinks any failing sequence to a short one
// and reports it as readable lines with the seed and path that replay it.
// Findings, in the order they are looked for after each op:
//   escape        an exception left the bus (the VMM would die on it);
//   out-of-bounds a device reached guest memory outside RAM, or a guard zone (around RAM, a flash
//                 array or the exit buffer) was written;
//   state         a read outside the register's documented set, or, after the sequence, a machine
//                 reset that did not bring the guest-visible state back to power-on.

import fc from 'fast-check';
import { guestRefusals } from '../machine/final-reports.js';
import { formatOp, formatOps, type Op } from './ops.js';
import { checkRead, resetSignature, signatureDiff } from './checks.js';
import { type FuzzLayout, FuzzPc } from './fuzz-pc.js';
import { type DeviceModel, opsFor } from './models.js';

export type FindingKind = 'escape' | 'out-of-bounds' | 'state';

export interface Finding {
  kind: FindingKind;
  /** 1-based index of the op after which it was seen (0: after the whole sequence). */
  at: number;
  message: string;
}

export interface SequenceResult {
  finding?: Finding;
  /** Bus-master DMA the devices ran, and refused (outside guest RAM, bad descriptors), as the VMM reports them. */
  dmaTransfers: number;
  dmaRefused: number;
  misuses: number;
}

const freshSignatures = new Map<FuzzLayout, Map<string, number | string>>();

/** The power-on state a reset must restore, per layout (the same machine, set up, then reset). */
function freshSignature(layout: FuzzLayout): Map<string, number | string> {
  let sig = freshSignatures.get(layout);
  if (!sig) {
    const pc = new FuzzPc(layout);
    try {
      pc.setupLikeFirmware();
      pc.exec({ k: 'reset' });
      sig = resetSignature(pc);
    } finally {
      pc.close();
    }
    freshSignatures.set(layout, sig);
  }
  return sig;
}

export interface SequenceOptions {
  /** Compare the state after a final reset with power-on (default true). */
  resetCheck?: boolean;
  /** Change the machine before the ops run: the checkers' own tests plant a defect here. */
  mutate?: (pc: FuzzPc) => void;
}

/** Run `ops` on a fresh machine set up as firmware leaves it; stop at the first finding. */
export function runSequence(layout: FuzzLayout, ops: readonly Op[], opts: SequenceOptions = {}): SequenceResult {
  const pc = new FuzzPc(layout);
  const result = (finding?: Finding): SequenceResult => {
    const dma = guestRefusals(pc.pc).dma as Array<{ transfers: number; refused: number }>;
    return {
      finding,
      dmaTransfers: dma.reduce((n, d) => n + d.transfers, 0),
      dmaRefused: dma.reduce((n, d) => n + d.refused, 0),
      misuses: pc.pc.machine.guestMisuses,
    };
  };
  try {
    pc.setupLikeFirmware();
    opts.mutate?.(pc);
    for (let i = 0; i < ops.length; i++) {
      const op = ops[i]!;
      let value: number | undefined;
      try {
        value = pc.exec(op);
      } catch (e) {
        const err = e as Error;
        return result({ kind: 'escape', at: i + 1, message: `${formatOp(op)} threw ${err.name}: ${err.message}` });
      }
      const oob = pc.outOfBounds[0] ?? pc.exitBufferDamage();
      if (oob) return result({ kind: 'out-of-bounds', at: i + 1, message: `${formatOp(op)}: ${oob}` });
      if (value !== undefined) {
        const bad = checkRead(pc, op, value);
        if (bad) return result({ kind: 'state', at: i + 1, message: `${formatOp(op)}: ${bad}` });
      }
    }
    const damage = pc.damage();
    if (damage) return result({ kind: 'out-of-bounds', at: 0, message: damage });
    if (opts.resetCheck !== false) {
      try {
        pc.exec({ k: 'reset' });
      } catch (e) {
        return result({ kind: 'escape', at: 0, message: `the machine reset after the sequence threw ${(e as Error).message}` });
      }
      const diff = signatureDiff(freshSignature(layout), resetSignature(pc));
      if (diff.length) return result({ kind: 'state', at: 0, message: `a machine reset left state behind:\n  ${diff.slice(0, 8).join('\n  ')}` });
    }
    return result();
  } finally {
    pc.close();
  }
}

export interface ModelReport {
  device: string;
  ops: number;
  sequences: number;
  seconds: number;
  opsPerSecond: number;
  dmaTransfers: number;
  dmaRefused: number;
  misuses: number;
  escapes: number;
  outOfBounds: number;
  stateFindings: number;
  /** The shrunk failing sequence, readable, with how to replay it. */
  counterexample?: string;
  seed: number;
}

export interface FuzzOptions {
  /** Total ops to run (approximately: whole sequences). */
  ops: number;
  seed: number;
  /** Longest sequence, in generated steps (each step is one op or a short protocol sequence). */
  maxSteps?: number;
  /** See SequenceOptions. */
  mutate?: (pc: FuzzPc) => void;
}

/** Sequences per fast-check run; runs continue with the next seed until the op budget is spent. */
const RUNS_PER_CHUNK = 100;

/** Fuzz one device model for about `o.ops` ops; stops at the first failing sequence, shrunk. */
export function fuzzModel(model: DeviceModel, o: FuzzOptions): ModelReport {
  // size 'max': lengths spread up to maxSteps (fast-check's default keeps arrays to about ten).
  const arb = fc.array(opsFor(model), { minLength: 1, maxLength: o.maxSteps ?? 64, size: 'max' }).map((steps) => steps.flat());
  const tally = { ops: 0, sequences: 0, dmaTransfers: 0, dmaRefused: 0, misuses: 0 };
  const kinds: Record<FindingKind, number> = { escape: 0, 'out-of-bounds': 0, state: 0 };
  let shrinking = false;
  let counterexample: string | undefined;
  const started = performance.now();
  for (let chunk = 0; tally.ops < o.ops && counterexample === undefined; chunk++) {
    const seed = (o.seed + chunk) | 0;
    const details = fc.check(
      fc.property(arb, (ops) => {
        const r = runSequence(model.layout, ops, { mutate: o.mutate });
        if (!shrinking) {
          tally.ops += ops.length;
          tally.sequences++;
          tally.dmaTransfers += r.dmaTransfers;
          tally.dmaRefused += r.dmaRefused;
          tally.misuses += r.misuses;
        }
        if (r.finding) {
          if (!shrinking) kinds[r.finding.kind]++;
          shrinking = true;
          throw new Error(`${r.finding.kind}${r.finding.at ? ` at op ${r.finding.at}` : ' after the sequence'}: ${r.finding.message}`);
        }
      }),
      { seed, numRuns: RUNS_PER_CHUNK },
    );
    if (details.failed && details.counterexample) {
      const ops = details.counterexample[0] as Op[];
      const why = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
      counterexample = `${why}\nshrunk to ${ops.length} ops (replay: seed ${details.seed}, path "${details.counterexamplePath}"):\n${formatOps(ops)}`;
    }
  }
  const seconds = (performance.now() - started) / 1000;
  return {
    device: model.name,
    ops: tally.ops,
    sequences: tally.sequences,
    seconds,
    opsPerSecond: tally.ops / seconds,
    dmaTransfers: tally.dmaTransfers,
    dmaRefused: tally.dmaRefused,
    misuses: tally.misuses,
    escapes: kinds.escape,
    outOfBounds: kinds['out-of-bounds'],
    stateFindings: kinds.state,
    counterexample,
    seed: o.seed,
  };
}
