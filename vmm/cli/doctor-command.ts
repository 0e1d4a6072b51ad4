// `bootgate doctor [--json]`: what this host can run and what it lacks, one line per item:
// whether /dev/kvm can run native guests (lab/capability.ts, with the reason when not), QEMU and
// its version, setpriv, nasm, gcc, make, every fixture (cached or not, locked or not), and which
// targets follow from that. It changes nothing and always exits 0; fix what it reports with the
// hints it prints (apt-get install ..., npm run fixtures -- NAME).

import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { listFixtures } from '../../fixtures/fixtures.js';
import { hostKvmCapability, type KvmCapability } from '../../lab/capability.js';
import { LAB_MODULE_FIXTURE_PREFIX, labFixtureNames } from '../../lab/kernel.js';
import { LAB_QEMU_FIXTURE, QEMU_ENV, qemuBinary, qemuVersion, which } from '../../lab/qemu.js';

export const DOCTOR_USAGE = `usage: bootgate doctor [--json]
  --json   print the report as one JSON object`;

interface Tool {
  name: string;
  path?: string;
  version?: string;
  /** How to get it when missing. */
  install: string;
}

interface FixtureState {
  name: string;
  package: string;
  version: string;
  cached: boolean;
  locked: boolean;
}

export interface DoctorReport {
  node: string;
  kvm: KvmCapability;
  tools: Tool[];
  fixtures: FixtureState[];
  /** Targets and what they can do here. */
  verdict: string[];
}

function firstLine(binary: string, args: string[]): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile(binary, args, { timeout: 10_000 }, (error, stdout, stderr) => {
      if (error && !stdout) return resolve(undefined);
      resolve(`${stdout}${stderr}`.split('\n')[0]?.trim() || undefined);
    });
  });
}

async function tool(name: string, versionArgs: string[], install: string): Promise<Tool> {
  const path = which(name);
  return { name, path, version: path ? await firstLine(path, versionArgs) : undefined, install };
}

async function qemuTool(): Promise<Tool> {
  const install = 'apt-get install qemu-system-x86 (or set $QEMU)';
  try {
    const path = qemuBinary();
    return { name: 'qemu', path, version: await qemuVersion(path), install };
  } catch {
    return { name: 'qemu', install };
  }
}

export async function doctorReport(): Promise<DoctorReport> {
  const kvm = hostKvmCapability();
  const tools = [
    await qemuTool(),
    await tool('setpriv', ['--version'], 'apt-get install util-linux'),
    await tool('nasm', ['-v'], 'apt-get install nasm'),
    await tool('gcc', ['--version'], 'apt-get install gcc'),
    await tool('make', ['--version'], 'apt-get install make'),
    await tool('xz', ['--version'], 'apt-get install xz-utils (else the lab fetches the xz-utils fixture)'),
  ];
  const listed = listFixtures();
  const fixtures = listed.map((f) => ({ name: f.name, package: f.package, version: f.version, cached: existsSync(f.cachedPath), locked: f.locked }));
  const qemu = tools[0]!;
  // The lab VM runs the lab-qemu fixture (lab/qemu.ts) unless $QEMU says otherwise.
  const labQemuFixture = listed.find((f) => f.name === LAB_QEMU_FIXTURE);
  const labQemu = process.env[QEMU_ENV]
    ? `$${QEMU_ENV}, QEMU ${qemu.version ?? '?'}`
    : labQemuFixture && existsSync(labQemuFixture.cachedPath)
      ? `fixture ${LAB_QEMU_FIXTURE}, QEMU ${(await qemuVersion(labQemuFixture.cachedPath)) ?? 'does not start'}`
      : `fixture ${LAB_QEMU_FIXTURE} ${labQemuFixture?.version ?? '?'}, fetched by the first lab run`;
  const labNames = new Set(labFixtureNames());
  const labMissing = fixtures.filter((f) => labNames.has(f.name) && !f.cached).map((f) => f.name);
  const verdict = [
    kvm.nativeGuests
      ? 'vmm:kvm: native guests (SeaBIOS, OVMF, Linux) on this host\'s /dev/kvm'
      : kvm.device && kvm.module === 'kvm_pvm'
        ? 'vmm:kvm: SeaBIOS and probe guests only (PVM); OVMF and Linux go to vmm:kvm@lab'
        : 'vmm:kvm: no usable /dev/kvm here; every own-VMM boot goes to vmm:kvm@lab',
    qemu.path
      ? `vmm:kvm@lab: ready (${labQemu}${labMissing.length > 0 ? `; first run fetches ${labMissing.length} lab fixture(s)` : ''})`
      : `vmm:kvm@lab: needs QEMU: ${qemu.install}`,
    // The target a host without hardware virtualization gates with (a BSD host picks its accelerator).
    qemu.path
      ? `qemu:tcg: needs no KVM (BOOTGATE_TARGETS=qemu:tcg, or --target qemu:tcg)${kvm.nativeGuests ? '; qemu:kvm on this /dev/kvm' : ' (qemu:kvm needs VT-x/SVM behind /dev/kvm)'}`
      : `qemu:<accel>: needs QEMU: ${qemu.install}`,
  ];
  return { node: process.version, kvm, tools, fixtures, verdict };
}

export function formatDoctor(r: DoctorReport): string {
  const lines = [`node      ${r.node}`];
  lines.push(`/dev/kvm  ${r.kvm.nativeGuests ? `native guests: yes (${r.kvm.module ?? 'kvm'})` : `native guests: NO: ${r.kvm.reason}`}`);
  for (const t of r.tools) lines.push(`${t.name.padEnd(9)} ${t.path ? `${t.path}${t.version ? `  ${t.version}` : ''}` : `missing: ${t.install}`}`);
  lines.push('fixtures:');
  // The lab's kernel modules are one line: they come from one package and are fetched together.
  const modules = r.fixtures.filter((f) => f.name.startsWith(LAB_MODULE_FIXTURE_PREFIX));
  const rows: Array<[string, string]> = r.fixtures
    .filter((f) => !f.name.startsWith(LAB_MODULE_FIXTURE_PREFIX))
    .map((f) => [f.name, f.cached ? (f.locked ? 'cached' : 'cached, NOT LOCKED') : `not cached (npm run fixtures -- ${f.name})`]);
  if (modules.length > 0) {
    const missing = modules.filter((f) => !f.cached).length;
    rows.push([`${LAB_MODULE_FIXTURE_PREFIX}* (${modules.length})`, missing === 0 ? 'cached' : `${missing} not cached (fetched by the first bootgate lab run)`]);
  }
  const width = Math.max(...rows.map(([name]) => name.length));
  for (const [name, state] of rows) lines.push(`  ${name.padEnd(width)}  ${state}`);
  lines.push('targets:', ...r.verdict.map((v) => `  ${v}`));
  return lines.join('\n');
}

export async function doctorCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } }, strict: true });
  if (values.help) {
    process.stdout.write(`${DOCTOR_USAGE}\n`);
    return 0;
  }
  const report = await doctorReport();
  process.stdout.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatDoctor(report)}\n`);
  return 0;
}
