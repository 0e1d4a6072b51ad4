// The probe protocol: the probe guest reports on its serial console in lines
// `@@bootgate {"event":...}` (guests/probe/init-script.ts). This parses them out of a console
// transcript (ANSI escapes and carriage returns tolerated) in order.

export interface ProbeEvent {
  event: string;
  [key: string]: unknown;
}

const LINE = /@@bootgate (\{.*\})\r?$/gm;

export function parseProbeEvents(serial: string): ProbeEvent[] {
  const out: ProbeEvent[] = [];
  for (const m of serial.matchAll(LINE)) {
    try {
      const ev = JSON.parse(m[1]!) as ProbeEvent;
      if (typeof ev.event === 'string') out.push(ev);
    } catch {
      out.push({ event: 'unparsable', line: m[0] });
    }
  }
  return out;
}

export function probeBoots(events: ProbeEvent[]): number[] {
  return events.filter((e) => e.event === 'init').map((e) => Number(e.boot));
}

export function troubleLines(events: ProbeEvent[]): string[] {
  return events.filter((e) => e.event === 'trouble').map((e) => String(e.line));
}
