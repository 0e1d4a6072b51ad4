// The lab's status port protocol (written by the init in lab/scripts.ts, one line per event):
// `ready` once the shares are mounted and the command is about to start, then `exit <code>`
// after it ended, or `setup-failed <reason>` instead of both when the lab could not be set up.
// A line cut short (the VM died mid-write) is ignored, so a partial `exit 1` never reads as 1.

export interface LabStatus {
  ready: boolean;
  exitCode?: number;
  setupFailed?: string;
}

export function parseStatus(text: string): LabStatus {
  const status: LabStatus = { ready: false };
  // Only newline-terminated lines count.
  const lines = text.split('\n').slice(0, -1);
  for (const line of lines) {
    const l = line.trim();
    if (l === 'ready') status.ready = true;
    else if (/^exit \d{1,3}$/.test(l)) status.exitCode ??= Number(l.slice(5));
    else if (l.startsWith('setup-failed')) status.setupFailed ??= l.slice('setup-failed'.length).trim() || 'no reason given';
  }
  return status;
}
