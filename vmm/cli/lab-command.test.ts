import { describe, expect, it } from 'vitest';
import { splitLabArgs } from './lab-command.js';

describe('bootgate lab arguments', () => {
  it('splits at --', () => {
    expect(splitLabArgs(['--smp', '4', '--', 'ls', '-l'])).toEqual({ options: ['--smp', '4'], command: ['ls', '-l'] });
  });

  it('without --, the command starts at the first word that is not an option or its value', () => {
    expect(splitLabArgs(['--timeout', '30', '--verbose', 'cat', '/proc/cpuinfo'])).toEqual({
      options: ['--timeout', '30', '--verbose'],
      command: ['cat', '/proc/cpuinfo'],
    });
    expect(splitLabArgs(['--mem=1024', 'uname', '-a'])).toEqual({ options: ['--mem=1024'], command: ['uname', '-a'] });
  });

  it('keeps a -- that belongs to the command', () => {
    expect(splitLabArgs(['--', 'sh', '-c', 'echo', '--'])).toEqual({ options: [], command: ['sh', '-c', 'echo', '--'] });
  });
});
