import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { initScript, isEnvName, LAB_PORTS, LAB_TAGS, setupScript, shQuote } from './scripts.js';

/** `sh -n`: the host's POSIX shell parses the script without running it. */
function parses(script: string): void {
  execFileSync('sh', ['-n'], { input: script });
}

describe('shQuote', () => {
  it('round-trips any word through a POSIX shell', () => {
    const words = ['plain', "it's", 'a b', '$HOME', '`id`', '"q"', '\\n', 'x\ny', ''];
    const out = execFileSync('sh', ['-c', `printf '%s\\0' ${words.map(shQuote).join(' ')}`]).toString();
    expect(out.split('\0').slice(0, -1)).toEqual(words);
  });

  it('refuses NUL, which no shell word can hold', () => {
    expect(() => shQuote('a\0b')).toThrow(TypeError);
  });
});

describe('isEnvName', () => {
  it('accepts shell identifiers only', () => {
    expect(['PATH', '_x', 'npm_config_cache', 'A1'].every(isEnvName)).toBe(true);
    expect(['1A', 'a.b', 'a-b', ''].some(isEnvName)).toBe(false);
  });
});

describe('initScript', () => {
  const script = initScript({ modules: ['virtio.ko', '9p.ko'], background: ['kvm.ko', 'kvm-amd.ko'] });

  it('parses', () => parses(script));

  it('loads the io modules in order, then the kvm modules in the background, and waits for them before the command', () => {
    const at = (s: string) => script.indexOf(s);
    expect(at("load 'virtio.ko'")).toBeLessThan(at("load '9p.ko'"));
    expect(at("load '9p.ko'")).toBeLessThan(at(`port ${LAB_PORTS.status}`));
    expect(at("  load 'kvm.ko'")).toBeGreaterThan(at('(\n'));
    expect(at("  load 'kvm-amd.ko'")).toBeLessThan(at('\n) &\n'));
    expect(at('wait $BACKGROUND')).toBeLessThan(at('echo ready'));
    expect(at('echo ready')).toBeLessThan(at('run_job'));
  });

  it("passes a module's parameters from the kernel command line to insmod, and nothing to other modules", () => {
    const lines = script.split('\n').filter((l) => l.startsWith('params()') || l.startsWith('load()'));
    expect(lines).toHaveLength(2);
    const fakes = `cat() { echo 'quiet kvm_amd.vgif=0 kvm_amd.npt=1 kvm.foo=2 kvm_amdx.y=3'; }\ninsmod() { echo "insmod $*"; }\nfail() { echo "fail $*"; }\n`;
    const out = execFileSync('sh', ['-c', `${fakes}${lines.join('\n')}\nload kvm-amd.ko\nload virtio.ko\nload sub/kvm.ko`]).toString();
    expect(out.split('\n')).toEqual(['insmod /lib/modules/kvm-amd.ko vgif=0 npt=1', 'insmod /lib/modules/virtio.ko', 'insmod /lib/modules/sub/kvm.ko foo=2', '']);
  });

  it('mounts the host root read-only and the job share from their tags, and reports the exit code before powering off', () => {
    expect(script).toMatch(new RegExp(`mount -t 9p -o ro,[^ ]* ${LAB_TAGS.hostRoot.replace('.', '\\.')} \\$R`));
    expect(script).toContain(`${LAB_TAGS.job} /job`);
    expect(script).toMatch(/run_job >"\$OUT" 2>"\$ERR" <\/dev\/null\nrc=\$\?\n(#.*\n)?sync\necho "exit \$rc" >"\$STATUS"\npoweroff -f/);
  });
});

describe('setupScript', () => {
  const script = setupScript({
    rwShares: ['/work/main', "/tmp/it's here"],
    cwd: '/work/main/sub dir',
    env: { PATH: '/usr/bin:/bin', QUOTE: "a'b", 'bad.name': 'x', UNSET: undefined },
    command: ['sh', '-c', 'echo "$QUOTE"; exit 3'],
  });

  it('parses', () => parses(script));

  it('mounts each writable share over its own path, by tag, with the page cache (flushed by sync before the exit code)', () => {
    expect(script).toContain(`mkdir -p "$R"'/work/main' && mount -t 9p`);
    expect(script).toContain(`${LAB_TAGS.rw(0)} "$R"'/work/main' || return 1`);
    expect(script).toContain(`${LAB_TAGS.rw(1)} "$R"'/tmp/it'\\''s here' || return 1`);
  });

  it('runs the command with exactly the given environment, in the working directory, without a shell in between', () => {
    const run = script.split('\n').find((l) => l.includes('nsenter'))!;
    expect(run).toContain("env -i 'PATH=/usr/bin:/bin' 'QUOTE=a'\\''b' nsenter -F -r\"$R\" -w\"$R\"'/work/main/sub dir' 'sh' '-c'");
    expect(run).not.toContain('bad.name');
    expect(run).not.toContain('UNSET');
  });

  it('refuses an empty command', () => {
    expect(() => setupScript({ rwShares: [], cwd: '/', env: {}, command: [] })).toThrow(/empty/);
  });
});
