import { describe, expect, it, vi } from 'vitest';
import { Loader } from '../../../src/sources/loader/caller.js';

// A thread that cannot be made (a pod's pids limit, RLIMIT_NPROC): `new Worker` throws at once.
vi.mock('node:worker_threads', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:worker_threads')>();
  class Refused {
    constructor() {
      throw Object.assign(new Error('EAGAIN'), { code: 'ERR_WORKER_INIT_FAILED' });
    }
  }
  return { ...real, Worker: Refused };
});

describe('Loader.prepare when no thread can be made', () => {
  it('is best effort: nothing is prepared and nothing is thrown at the watcher; the load reports it', async () => {
    const loader = new Loader({ heapMb: 96 });
    expect(() => loader.prepare()).not.toThrow();
    expect(loader.isPrepared).toBe(false);
    await expect(loader.load({ kind: 'file', origin: 'x.yaml', bytes: new Uint8Array(), hash: 'h' })).rejects.toThrow('EAGAIN');
  });
});
