// `node scripts/bootstrap.mjs <profile>`: make a fresh Debian 12 machine (root, only Node present)
// ready for `npm test` / `npm run conformance`, and do nothing noticeable when it already is.
// Steps: npm ci when node_modules is missing or older than package-lock.json; install missing
// tools (on Debian with apt-get; on another system, name the one package command that installs
// them and stop); build the TypeScript (`tsc -p .`, also the typecheck); fetch the default
// fixtures (`node dist/fixtures/cli.js`: straight from the Debian archive's pool, no apt needed).
// Plain JavaScript with no dependencies: it runs before node_modules exists. Profiles: test
// (default), conformance, bench, uefi (test, conformance and uefi also install what building the
// lab's patched QEMU needs, and build it when this host's own VMM runs in the lab: the lab runs
// OVMF only under it). Every profile needs QEMU: the suites also run on qemu:<accel>
// targets (npm test runs qemu:tcg).

import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));

/**
 * Tools every profile needs: the command to look for and the package that provides it, by
 * package system (Debian's apt; FreeBSD's and DragonFly's pkg; NetBSD's pkgin; OpenBSD's pkg_add).
 */
const BASE_TOOLS = [
  { command: 'gcc', package: { apt: 'gcc', pkg: 'gcc', pkgin: 'gcc12', pkg_add: 'gcc' } },
  { command: 'make', package: { apt: 'make', pkg: 'gmake', pkgin: 'gmake', pkg_add: 'gmake' } },
  { command: 'nasm', package: { apt: 'nasm', pkg: 'nasm', pkgin: 'nasm', pkg_add: 'nasm' } },
  { command: 'tar', package: { apt: 'tar', pkg: 'libarchive', pkgin: 'libarchive', pkg_add: 'libarchive' } },
  { command: 'qemu-system-x86_64', package: { apt: 'qemu-system-x86', pkg: 'qemu', pkgin: 'qemu', pkg_add: 'qemu' } },
  { command: 'iasl', package: { apt: 'acpica-tools', pkg: 'acpica-tools', pkgin: 'acpica-utils', pkg_add: 'acpica' } },
  // The debian-disk image (guests/debian-disk/build.ts) is installed into a folder and made into ext4.
  { command: 'debootstrap', package: { apt: 'debootstrap', pkg: 'debootstrap', pkgin: 'debootstrap', pkg_add: 'debootstrap' }, linuxOnly: true },
  { command: 'mkfs.ext4', package: { apt: 'e2fsprogs', pkg: 'e2fsprogs', pkgin: 'e2fsprogs', pkg_add: 'e2fsprogs' }, linuxOnly: true },
];

/** The package system of this host and the command line that installs packages with it. */
const PACKAGE_SYSTEMS = [
  { name: 'apt', probe: 'apt-get', install: 'apt-get install -y --no-install-recommends' },
  { name: 'pkg', probe: 'pkg', install: 'pkg install -y' },
  { name: 'pkgin', probe: 'pkgin', install: 'pkgin -y install' },
  { name: 'pkg_add', probe: 'pkg_add', install: 'pkg_add' },
];

const PROFILES = {
  test: BASE_TOOLS,
  conformance: BASE_TOOLS,
  bench: BASE_TOOLS,
  // `npm run uefi`: also what building the lab's patched QEMU needs (QEMU_BUILD_NEEDS).
  uefi: BASE_TOOLS,
  // `npm run fixtures`: only what its CLI needs to run (node_modules and the build).
  build: [],
};

/**
 * Profiles whose runs boot OVMF in the nested lab, which needs the lab's patched QEMU
 * (lab/qemu-build/). Its tools and headers (Linux only) come from build-needs.json.
 */
const QEMU_BUILD_PROFILES = ['test', 'uefi', 'conformance'];
const QEMU_BUILD_NEEDS = JSON.parse(readFileSync(join(root, 'lab', 'qemu-build', 'build-needs.json'), 'utf8')).needs;

/** gcc without libc headers cannot build the native baselines; the header is the cheap check. */
const LIBC_HEADER = { path: '/usr/include/stdio.h', package: 'libc6-dev' };
/** Shared libraries the unpacked kbuild tools (guest kernel module build) link against. */
const KBUILD_LIBS = [
  { path: '/usr/lib/x86_64-linux-gnu/libelf.so.1', package: 'libelf1' },
  { path: '/usr/lib/x86_64-linux-gnu/libssl.so.3', package: 'libssl3' },
];

function say(line) {
  console.log(`bootstrap: ${line}`);
}

function fail(line, code = 1) {
  console.error(`bootstrap: ${line}`);
  process.exit(code);
}

/** Runs a command; output is captured unless `inherit`. Returns { status, output }. */
function run(command, args, { inherit = false, env } = {}) {
  const result = spawnSync(command, args, {
    cwd: root,
    stdio: inherit ? 'inherit' : 'pipe',
    encoding: 'utf8',
    env: env ? { ...process.env, ...env } : process.env,
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.error) return { status: -1, output: String(result.error.message) };
  return { status: result.status ?? -1, output: `${result.stdout ?? ''}${result.stderr ?? ''}` };
}

function tail(text, lines = 15) {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

function mtime(path) {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return undefined;
  }
}

function onPath(command) {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    try {
      accessSync(join(dir, command), constants.X_OK);
      return true;
    } catch {
      // not in this PATH entry
    }
  }
  return false;
}

// 1. npm packages. npm writes node_modules/.package-lock.json on every install, so its mtime
// says when node_modules last matched package-lock.json.
function ensureNodeModules() {
  const installed = mtime(join(root, 'node_modules', '.package-lock.json'));
  const wanted = mtime(join(root, 'package-lock.json'));
  if (wanted === undefined) fail('package-lock.json is missing; restore it from git');
  if (installed !== undefined && installed >= wanted) return;
  const started = Date.now();
  const { status, output } = run('npm', ['ci', '--no-audit', '--no-fund', '--loglevel=error']);
  if (status !== 0) fail(`npm ci failed (exit ${status}):\n${tail(output)}`);
  const added = /added (\d+) packages?/.exec(output);
  say(`npm ci: ${added ? `${added[1]} packages` : 'done'} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

// 2. Debian tools.
function aptIndexEmpty() {
  try {
    return !readdirSync('/var/lib/apt/lists').some((f) => f.includes('_Packages'));
  } catch {
    return true;
  }
}

function aptGet(args) {
  return run('apt-get', args, { env: { DEBIAN_FRONTEND: 'noninteractive', LC_ALL: 'C' } });
}

/** The profile's tools this host needs (the Linux-only ones only on Linux). */
function toolsFor(profile) {
  return PROFILES[profile].filter((t) => !t.linuxOnly || process.platform === 'linux');
}

/**
 * Whether this host's own VMM boots OVMF and Linux in the nested lab, as lab/capability.ts decides
 * it (a Linux host whose /dev/kvm is missing, not ours to open, or PVM; not inside a lab; no $QEMU
 * of the user's): only then is the patched QEMU built, so only then are its build packages
 * installed. lab/qemu-build/cli.ts nativeGuestsNeedLab() says the same from the compiled code,
 * which does not exist yet when this runs.
 */
function ownVmmRunsInLab() {
  if (process.platform !== 'linux' || process.env.QEMU || process.env.BOOTGATE_LAB === '1') return false;
  if (existsSync('/sys/module/kvm_pvm')) return true;
  try {
    accessSync('/dev/kvm', constants.R_OK | constants.W_OK);
    return false;
  } catch {
    return true;
  }
}

function ensureTools(profile) {
  const buildNeeds = QEMU_BUILD_PROFILES.includes(profile) && ownVmmRunsInLab() ? QEMU_BUILD_NEEDS : [];
  const system = PACKAGE_SYSTEMS.find((s) => onPath(s.probe));
  const absent = toolsFor(profile).filter((t) => !onPath(t.command));
  if (system === undefined || system.name !== 'apt') {
    // Not Debian: say the one command, do not guess at installing. The Linux-only extras (libc
    // headers, kbuild's libraries) build Linux guest modules, which needs a Linux host anyway.
    if (absent.length === 0) return;
    const commands = absent.map((t) => t.command).join(', ');
    if (system === undefined) fail(`missing ${commands}, and no package manager bootgate knows (apt-get, pkg, pkgin, pkg_add); install them by hand`);
    const packages = [...new Set(absent.map((t) => t.package[system.name]))];
    fail(`missing ${commands}; install them with: ${system.install} ${packages.join(' ')}`);
  }
  const missing = [...new Set(absent.map((t) => t.package.apt))];
  if (!existsSync(LIBC_HEADER.path)) missing.push(LIBC_HEADER.package);
  for (const lib of KBUILD_LIBS) if (!existsSync(lib.path)) missing.push(lib.package);
  for (const need of buildNeeds) if (!existsSync(need.path) && !missing.includes(need.package)) missing.push(need.package);
  if (missing.length === 0) return;

  const install = `apt-get install -y --no-install-recommends ${missing.join(' ')}`;
  if (process.getuid?.() !== 0) fail(`missing Debian packages ${missing.join(', ')}; install them with: sudo ${install}`);

  say(`installing ${missing.join(' ')} (${install})`);
  const started = Date.now();
  const args = ['install', '-y', '--no-install-recommends', ...missing];
  if (aptIndexEmpty()) {
    say('apt package index is empty; running apt-get update');
    aptGet(['update']);
  }
  let result = aptGet(args);
  if (result.status !== 0 && /Unable to locate package|has no installation candidate|404\s+Not Found/i.test(result.output)) {
    say('apt-get install could not find a package; running apt-get update and retrying');
    const update = aptGet(['update']);
    if (update.status !== 0) fail(`apt-get update failed:\n${tail(update.output)}`);
    result = aptGet(args);
  }
  if (result.status !== 0) fail(`${install} failed (exit ${result.status}):\n${tail(result.output)}`);
  const stillMissing = toolsFor(profile).filter((t) => !onPath(t.command)).map((t) => t.command);
  if (stillMissing.length > 0) fail(`installed ${missing.join(' ')} but ${stillMissing.join(', ')} is still not on PATH`);
  say(`installed ${missing.join(' ')} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

// 3. TypeScript build (and typecheck), then the VMM workers' bundle (scripts/bundle-workers.mjs)
// and the native vCPU threads (scripts/build-native.mjs).
// Run tsc's own bin: `npx` adds a second of npm start-up.
function build() {
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const { status } = run(process.execPath, [tsc, '-p', '.'], { inherit: true });
  if (status !== 0) fail(`tsc -p . failed (exit ${status}); fix the type errors above`);
  const bundled = run(process.execPath, [join(root, 'scripts', 'bundle-workers.mjs')], { inherit: true });
  if (bundled.status !== 0) fail(`bundling the VMM's workers failed (exit ${bundled.status}); see the line above`);
  const native = run(process.execPath, [join(root, 'scripts', 'build-native.mjs')], { inherit: true });
  if (native.status !== 0) fail(`building the native vCPU threads failed (exit ${native.status}); see the line above`);
}

// 4. Default fixtures (manifest.json `default`: firmware, kernels, headers, lab): verified when cached, fetched when not.
function fixtures() {
  const { status } = run(process.execPath, [join(root, 'dist', 'fixtures', 'cli.js')], { inherit: true });
  if (status !== 0) fail(`fetching the default fixtures failed (exit ${status}); see the line above`);
}

// 5. The lab's patched QEMU (lab/qemu-build/, docs/uefi.md), which the nested lab runs OVMF under:
// built here, once per machine, when this host's own VMM runs in the lab; a no-op elsewhere.
function labQemu() {
  const { status } = run(process.execPath, [join(root, 'dist', 'lab', 'qemu-build', 'cli.js'), '--if-lab'], { inherit: true });
  if (status !== 0) fail(`building the lab's patched QEMU failed (exit ${status}); see the line above`);
}

function main() {
  const profile = process.argv[2] ?? 'test';
  if (!Object.hasOwn(PROFILES, profile)) {
    fail(`unknown profile ${JSON.stringify(profile)}; expected one of ${Object.keys(PROFILES).join(', ')}`, 2);
  }
  ensureNodeModules();
  if (profile === 'build') {
    build();
    return;
  }
  ensureTools(profile);
  build();
  fixtures();
  if (QEMU_BUILD_PROFILES.includes(profile)) labQemu();
}

main();
