import { pino } from 'pino';
import { Activator, type ActivationEvent } from '../../src/activation/activator.js';
import { SnapshotHolder } from '../../src/activation/holder.js';
import type { PolicySource } from '../../src/sources/source.js';

/** A strict-mode Activator over `source` with a fresh holder, a silent logger and its events recorded. */
export function activatorFor(source: PolicySource): { holder: SnapshotHolder; activator: Activator; events: ActivationEvent[] } {
  const holder = new SnapshotHolder();
  const events: ActivationEvent[] = [];
  const activator = new Activator({ source, holder, mode: 'strict', log: pino({ level: 'silent' }) });
  activator.subscribe((e) => events.push(e));
  return { holder, activator, events };
}
